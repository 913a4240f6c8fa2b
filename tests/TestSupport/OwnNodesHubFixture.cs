using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.Tests.Support;

/// <summary>
/// A whole hub on nodes of its own, started once for a test class or collection: for tests that stop, kill or freeze
/// its nodes without disturbing the other tests. Shared by the end-to-end and the fault suites.
/// </summary>
/// <param name="settle">
/// A pause after the start. A quorum queue declared a moment ago can lose its leader to a kill, so the fault suite lets a
/// fresh hub settle first.
/// </param>
public abstract class OwnNodesHubFixture(HubOptions options, TimeSpan settle = default) : IAsyncLifetime
{
    private Hub? hub;
    private DemoPki? pki;

    /// <summary>
    /// The hub; where its private nodes cannot start (no root: a developer's run on containers), the test that asks is
    /// skipped, saying why; a fixture cannot skip, xunit fails every test of one that throws.
    /// </summary>
    public Hub Hub => hub ?? SkipTest<Hub>();

    public DemoPki Pki => pki ?? SkipTest<DemoPki>();

    public async ValueTask InitializeAsync()
    {
        if (options.Nodes == HubNodes.Private && PrivateNodes.Unavailable is not null)
        {
            return;
        }
        hub = await Hub.StartAsync(options);
        pki = DemoPki.Ensure(hub.PkiDir, hub.ClientIds);
        if (settle > TimeSpan.Zero)
        {
            await Task.Delay(settle);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (hub is not null)
        {
            await hub.DisposeAsync();
        }
    }

    public HttpClient Client(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl);

    private static T SkipTest<T>()
    {
        Assert.Skip(PrivateNodes.Unavailable ?? "This fixture's hub did not start.");
        return default!;
    }
}
