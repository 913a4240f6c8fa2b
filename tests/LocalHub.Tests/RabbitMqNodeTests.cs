using System.Text;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.Topology;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.LocalHub.Tests;

[Collection(PrivateNodesCollection.Name)]
public sealed class RabbitMqNodeTests(PrivateNodesFixture nodes)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Publish_PersistentMessageWithConfirmAsNewUser_IsConsumedOnce()
    {
        var virtualHost = $"test-{Guid.NewGuid():N}";
        var password = UnixFiles.NewPassword();
        await nodes.Rabbit.CreateVirtualHostAsync(virtualHost, Cancellation);
        await nodes.Rabbit.CreateUserAsync("publisher", password, Cancellation);
        await nodes.Rabbit.SetPermissionsAsync(virtualHost, "publisher", AllRights, Cancellation);

        await using var connection = await ConnectAsync(nodes.Rabbit, "publisher", password, virtualHost);
        await using var channel = await OpenConfirmingChannelAsync(connection);
        await PublishConfirmedAsync(channel, "confirmed", "hello");

        var delivered = await channel.BasicGetAsync("confirmed", autoAck: false, Cancellation);
        delivered.ShouldNotBeNull();
        Encoding.UTF8.GetString(delivered.Body.Span).ShouldBe("hello");
        delivered.BasicProperties.Persistent.ShouldBeTrue();
        await channel.BasicAckAsync(delivered.DeliveryTag, multiple: false, Cancellation);
        (await channel.BasicGetAsync("confirmed", autoAck: false, Cancellation)).ShouldBeNull();

        await nodes.Rabbit.DeleteVirtualHostAsync(virtualHost, Cancellation);
        await nodes.Rabbit.DeleteUserAsync("publisher", Cancellation);
    }

    [Fact]
    public async Task KillThenStart_ConfirmedPersistentMessage_SurvivesTheCrash()
    {
        var queue = $"survivor-{Guid.NewGuid():N}";
        await using (var connection = await ConnectAsync(nodes.Rabbit))
        await using (var channel = await OpenConfirmingChannelAsync(connection))
        {
            await PublishConfirmedAsync(channel, queue, "kept");
        }
        // RabbitMQ 3.10 persists a new quorum queue's registration lazily: killed within about a second of the
        // declaration, the queue comes back without a leader and never answers. The message itself is safe
        // once confirmed; what this test is about is that crash, not the one right after a declaration.
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        var crashed = nodes.Rabbit.BeamPid.ShouldNotBeNull();

        await nodes.Rabbit.KillAsync(Cancellation);
        UnixProcess.IsAlive(crashed).ShouldBeFalse();
        nodes.Rabbit.BeamPid.ShouldBeNull();
        await nodes.Rabbit.StartAsync(Cancellation);

        await using (var connection = await ConnectAsync(nodes.Rabbit))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: Cancellation))
        {
            var delivered = await channel.BasicGetAsync(queue, autoAck: true, Cancellation);
            delivered.ShouldNotBeNull();
            Encoding.UTF8.GetString(delivered.Body.Span).ShouldBe("kept");
            await channel.QueueDeleteAsync(queue, cancellationToken: Cancellation);
        }
    }

    [Fact]
    public async Task StopAppThenStartApp_RunningNode_RefusesThenAcceptsConnections()
    {
        await nodes.Rabbit.StopAppAsync(Cancellation);
        try
        {
            await Should.ThrowAsync<BrokerUnreachableException>(() => ConnectAsync(nodes.Rabbit));
            nodes.Rabbit.BeamPid.ShouldNotBeNull();
        }
        finally
        {
            await nodes.Rabbit.StartAppAsync(Cancellation);
        }

        await using var connection = await ConnectAsync(nodes.Rabbit);
        connection.IsOpen.ShouldBeTrue();
    }

    [Fact]
    public async Task FreezeThenThaw_RunningNode_SuspendsAndResumesTheVm()
    {
        var pid = nodes.Rabbit.BeamPid.ShouldNotBeNull();

        await nodes.Rabbit.FreezeAsync(Cancellation);
        try
        {
            UnixProcess.State(pid).ShouldBe('T');
        }
        finally
        {
            await nodes.Rabbit.ThawAsync(Cancellation);
        }

        UnixProcess.State(pid).ShouldNotBe('T');
        (await nodes.Rabbit.GetManagementAsync("overview", Cancellation)).GetProperty("rabbitmq_version").GetString().ShouldBe("3.10.8");
    }

    /// <summary>
    /// For tests of the node, not of the hub's permissions (BrokerPermissionsTests): a user that may do anything on
    /// its virtual host, the default exchange included.
    /// </summary>
    internal static readonly BrokerPermission AllRights = new(".*", ".*", ".*");

    internal static async Task<IConnection> ConnectAsync(RabbitMqNode node, string? user = null, string? password = null, string virtualHost = "/")
    {
        var factory = new ConnectionFactory
        {
            HostName = node.Host,
            Port = node.AmqpPort,
            UserName = user ?? node.AdminUser,
            Password = password ?? node.AdminPassword,
            VirtualHost = virtualHost,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
            AutomaticRecoveryEnabled = false,
        };
        return await factory.CreateConnectionAsync(Cancellation);
    }

    internal static Task<IChannel> OpenConfirmingChannelAsync(IConnection connection) =>
        // Tracking makes BasicPublishAsync complete only once the broker has confirmed the message.
        connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), Cancellation);

    internal static async Task PublishConfirmedAsync(IChannel channel, string queue, string body)
    {
        await channel.QueueDeclareAsync(
            queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" },
            cancellationToken: Cancellation);
        await channel.BasicPublishAsync(
            exchange: "", routingKey: queue, mandatory: true,
            basicProperties: new BasicProperties { Persistent = true },
            body: Encoding.UTF8.GetBytes(body),
            cancellationToken: Cancellation);
    }
}
