using System.Net;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class ConnectionLimitedGatewayFixture : GatewayFixture
{
    protected override void Configure(IDictionary<string, string> environment)
    {
        environment["Gateway__Limits__MaxConnections"] = "3";
        environment["Gateway__Limits__MaxConnectionsPerAddress"] = "2";
    }
}

/// <summary>
/// A host that opens connections without end (each costs the gateway a TLS handshake and buffers) is held to its share,
/// and all hosts together to the gateway's: a connection beyond is closed as it is accepted, and a slot freed is a slot
/// to be had again. Each client here keeps one connection open (HTTP/1.1, kept alive); 127.0.0.2 is another host.
/// </summary>
public sealed class ConnectionLimitTests(ConnectionLimitedGatewayFixture fixture) : IClassFixture<ConnectionLimitedGatewayFixture>
{
    private static readonly IPAddress OtherHost = IPAddress.Parse("127.0.0.2");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Connections_BeyondOneAddressesShareOrTheTotal_AreClosedAtOnce_AndAFreedSlotServesAgain()
    {
        using var first = fixture.CreateClient("bvc-ehr");
        using var second = fixture.CreateClient("socialtjanst-system");
        (await StatusAsync(first)).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(second)).ShouldBe(HttpStatusCode.OK);

        using (var third = fixture.CreateClient("bvc-ehr"))
        {
            (await IsClosedAsync(third)).ShouldBeTrue("a third connection from one address, whose share is two");
        }

        using var fromOtherHost = fixture.CreateClient("bvc-ehr", OtherHost);
        (await StatusAsync(fromOtherHost)).ShouldBe(HttpStatusCode.OK, "another host has its own share");
        using (var beyondTotal = fixture.CreateClient("bvc-ehr", OtherHost))
        {
            (await IsClosedAsync(beyondTotal)).ShouldBeTrue("a fourth connection in all, where three may be open");
        }

        // Still served on the connections they hold.
        (await StatusAsync(first)).ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(fromOtherHost)).ShouldBe(HttpStatusCode.OK);

        first.Dispose();
        await Eventually.TrueAsync(
            async () =>
            {
                using var again = fixture.CreateClient("bvc-ehr");
                try
                {
                    return await StatusAsync(again) == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false; // the gateway has not yet seen the freed connection close
                }
            },
            TimeSpan.FromSeconds(10), "a connection closed frees its slot", TimeSpan.FromMilliseconds(200), Ct);
    }

    /// <summary>
    /// Whether the gateway closed the connection instead of answering: as the handler's error, or, from a client that
    /// opens its own sockets (another host's address), as the socket's own when the close comes while it connects.
    /// </summary>
    private static async Task<bool> IsClosedAsync(HttpClient client)
    {
        try
        {
            await StatusAsync(client);
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or IOException)
        {
            return true;
        }
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/consent/api/consents", Ct);
        return response.StatusCode;
    }
}
