using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>A hub with nodes of its own, for tests that stop or kill them without disturbing the other tests.</summary>
public abstract class OwnNodesHubFixture(HubOptions options) : IAsyncLifetime
{
    public Hub Hub { get; private set; } = null!;

    public DemoPki Pki { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Hub = await Hub.StartAsync(options);
        Pki = DemoPki.Ensure(Hub.PkiDir, Hub.ClientIds);
    }

    public async ValueTask DisposeAsync() => await Hub.DisposeAsync();

    public HttpClient Client(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl);
}

/// <summary>One RabbitMQ node and one PostgreSQL of its own, so its database can be stopped.</summary>
public sealed class PrivateHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private });

/// <summary>A hub on a cluster of three private RabbitMQ nodes.</summary>
public sealed class ClusterHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private, BrokerNodes = 3 });
