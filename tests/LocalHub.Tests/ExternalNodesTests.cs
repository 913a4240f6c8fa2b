using Npgsql;
using RabbitMQ.Client;

namespace FamiljecentralHub.LocalHub.Tests;

public sealed class ExternalNodesTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, string> Complete = new()
    {
        [ExternalNodes.EnabledVariable] = "1",
        [ExternalNodes.RabbitMqNodeNameVariable] = "hub-21000@localhost",
        [ExternalNodes.RabbitMqPortVariable] = "21000",
        [ExternalNodes.RabbitMqManagementPortVariable] = "21001",
        [ExternalNodes.RabbitMqAdminUserVariable] = "hub-admin",
        [ExternalNodes.RabbitMqAdminPasswordVariable] = "secret",
        [ExternalNodes.PostgresPortVariable] = "21002",
        [ExternalNodes.PostgresPasswordVariable] = "other",
    };

    [Fact]
    public void FromVariables_NotEnabled_ReturnsNull() =>
        ExternalNodes.FromVariables(name => name == ExternalNodes.EnabledVariable ? "0" : Complete[name]).ShouldBeNull();

    [Fact]
    public void FromVariables_AllSet_ReadsEveryValue()
    {
        var nodes = ExternalNodes.FromVariables(name => Complete.GetValueOrDefault(name)).ShouldNotBeNull();

        nodes.ShouldBe(new ExternalNodes("hub-21000@localhost", 21000, 21001, "hub-admin", "secret", 21002, "other"));
        nodes.ToVariables().ShouldBe(Complete, ignoreOrder: true);
        nodes.ToString().ShouldNotContain("secret");
    }

    [Fact]
    public void FromVariables_MissingAndInvalid_NamesBoth()
    {
        var broken = new Dictionary<string, string>(Complete) { [ExternalNodes.PostgresPortVariable] = "many" };
        broken.Remove(ExternalNodes.RabbitMqAdminPasswordVariable);

        var failure = Should.Throw<LocalHubException>(() => ExternalNodes.FromVariables(name => broken.GetValueOrDefault(name)));

        failure.Message.ShouldContain(ExternalNodes.RabbitMqAdminPasswordVariable);
        failure.Message.ShouldContain(ExternalNodes.PostgresPortVariable);
    }

    /// <summary>Checks what deploy/test.sh hands every fixture: shared nodes that accept our own vhost, user and database.</summary>
    [Fact]
    public async Task SharedNodes_FromEnvironment_TakeAVirtualHostUserAndDatabase()
    {
        var shared = ExternalNodes.FromEnvironment();
        Assert.SkipWhen(shared is null, $"{ExternalNodes.EnabledVariable} is not set (deploy/test.sh sets it).");
        var rabbit = RabbitMqNode.External(shared.RabbitMqNodeName, shared.RabbitMqPort, shared.RabbitMqManagementPort, shared.RabbitMqAdminUser, shared.RabbitMqAdminPassword);
        var postgres = PostgresNode.External(shared.PostgresPort, shared.PostgresPassword);
        var id = Guid.NewGuid().ToString("N")[..8];
        var (virtualHost, user, password, database) = ($"hub-{id}", $"h{id}-ops", Guid.NewGuid().ToString("N"), $"h{id}_hub_ops");

        try
        {
            await rabbit.CreateVirtualHostAsync(virtualHost, Cancellation);
            await rabbit.CreateUserAsync(user, password, Cancellation);
            await rabbit.SetPermissionsAsync(virtualHost, user, RabbitMqNodeTests.AllRights, Cancellation);
            await using (var connection = await RabbitMqNodeTests.ConnectAsync(rabbit, user, password, virtualHost))
            await using (var channel = await RabbitMqNodeTests.OpenConfirmingChannelAsync(connection))
            {
                await RabbitMqNodeTests.PublishConfirmedAsync(channel, "shared", "hello");
                (await channel.BasicGetAsync("shared", autoAck: true, Cancellation)).ShouldNotBeNull();
            }

            await postgres.CreateDatabaseAsync(database, Cancellation);
            await using var session = await PostgresNodeTests.OpenAsync(postgres, database);
            await using var query = new NpgsqlCommand("SELECT current_database()", session);
            (await query.ExecuteScalarAsync(Cancellation)).ShouldBe(database);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(virtualHost, Cancellation);
            await rabbit.DeleteUserAsync(user, Cancellation);
            await postgres.DropDatabaseAsync(database, Cancellation);
        }

        Should.Throw<InvalidOperationException>(() => rabbit.KillAsync(Cancellation));
    }
}
