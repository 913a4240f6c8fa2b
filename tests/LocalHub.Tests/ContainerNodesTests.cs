using System.Net.Sockets;
using Dapper;
using FamiljecentralHub.Topology;
using Npgsql;
using RabbitMQ.Client;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// The container path (docs/testing.md): the hub's own RabbitMQ and PostgreSQL images, started by Testcontainers, take
/// the same provisioning as shared external nodes (a virtual host with each service's user and permissions, each
/// service's database with its logins), and are gone after dispose. Runs where a container engine answers.
/// </summary>
public sealed class ContainerNodesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly HubService Consent = HubService.All.Single(service => service.Name == Catalogue.Consent.Name);

    [Fact]
    public async Task HubImages_ProvisionedAsExternalNodes_ServiceLoginsWork()
    {
        SkipUnlessContainers();
        await using var containers = await ContainerNodes.StartAsync("localhub-tests", withBroker: true, log: null, Ct);
        var nodes = containers.Nodes;
        var rabbit = RabbitMqNode.External(nodes.RabbitMqNodeName, nodes.RabbitMqPort, nodes.RabbitMqManagementPort, nodes.RabbitMqAdminUser, nodes.RabbitMqAdminPassword);
        var postgres = PostgresNode.External(nodes.PostgresPort, nodes.PostgresPassword);

        const string virtualHost = "hub-containers";
        await rabbit.CreateVirtualHostAsync(virtualHost, Ct);
        var accounts = BrokerProvisioning.NewAccounts("hcontainers-");
        await BrokerProvisioning.ApplyAsync(rabbit, virtualHost, accounts, Ct);
        // The gate's queue, which the provisioning declares, is there for the consent service's login to read: empty.
        var consent = accounts[Catalogue.Consent.Name];
        var factory = new ConnectionFactory
        {
            HostName = "127.0.0.1", Port = nodes.RabbitMqPort, VirtualHost = virtualHost, UserName = consent.User, Password = consent.Password,
        };
        await using (var connection = await factory.CreateConnectionAsync(Ct))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: Ct))
        {
            (await channel.BasicGetAsync(Queues.Gate, autoAck: false, Ct)).ShouldBeNull();
        }

        var databases = new HubDatabases(postgres, "c0ffee00", sharedNodes: true);
        await databases.CreateAllAsync(Ct);
        await using var runtime = new NpgsqlConnection(databases.ConnectionString(Consent));
        await runtime.OpenAsync(Ct);
        (await runtime.ExecuteScalarAsync<string>("SELECT current_user")).ShouldBe(databases.RuntimeLogin(Consent).Role);
    }

    [Fact]
    public async Task Dispose_RemovesTheContainers_TheirPortsNoLongerAnswer()
    {
        SkipUnlessContainers();
        var containers = await ContainerNodes.StartAsync("localhub-tests", withBroker: false, log: null, Ct);
        var port = containers.Nodes.PostgresPort;
        await ConnectAsync(port);

        await containers.DisposeAsync();

        await Should.ThrowAsync<SocketException>(() => ConnectAsync(port));
    }

    private static void SkipUnlessContainers() =>
        Assert.SkipUnless(
            TestNodes.FromEnvironment() == TestNodeSource.Containers,
            $"This run takes {TestNodes.FromEnvironment().ToString().ToLowerInvariant()} nodes, not containers ({TestNodes.Variable}, docs/testing.md).");

    private static async Task ConnectAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, Ct);
    }
}
