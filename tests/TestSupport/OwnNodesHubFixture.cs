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
    public Hub Hub { get; private set; } = null!;

    public DemoPki Pki { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Hub = await Hub.StartAsync(options);
        Pki = DemoPki.Ensure(Hub.PkiDir, Hub.ClientIds);
        if (settle > TimeSpan.Zero)
        {
            await Task.Delay(settle);
        }
    }

    public async ValueTask DisposeAsync() => await Hub.DisposeAsync();

    public HttpClient Client(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl);
}
