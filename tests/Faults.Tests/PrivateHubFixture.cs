using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>A whole hub on nodes of its own (faults stop, kill and freeze them), started once for a test class.</summary>
public abstract class PrivateHubFixture(HubOptions options) : IAsyncLifetime
{
    public Hub Hub { get; private set; } = null!;

    public DemoPki Pki { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Hub = await Hub.StartAsync(options);
        Pki = DemoPki.Ensure(Hub.PkiDir, Hub.ClientIds);
        // A quorum queue declared a moment ago can lose its leader to a kill; let the fresh hub settle first.
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    public async ValueTask DisposeAsync() => await Hub.DisposeAsync();

    public HttpClient Client(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl);
}

public sealed class SingleNodeHubFixture() : PrivateHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private });

/// <summary>The single-node faults and the back-pressure checks share one hub: a hub start is a fifth of a fault run.</summary>
[CollectionDefinition(Name)]
public sealed class SingleNodeHub : ICollectionFixture<SingleNodeHubFixture>
{
    public const string Name = "single-node hub";
}
