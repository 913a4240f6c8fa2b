using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A service does not lean on the gateway for its own limits: whoever reaches its port with a caller token and the
/// certificate it is bound to (a breached gateway) still cannot hand it a body larger than the gateway would have let through.
/// </summary>
public sealed class ServiceBodyLimitTests(HubFixture hub)
{
    private const int GatewayLimit = 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Referral_LargerThanTheGatewaysLimit_SentStraightToTheService_Is413WithoutTheBody()
    {
        using var direct = DirectToChildHealth();
        var subject = HubFixture.NewSubject();
        var referral = JsonSerializer.SerializeToNode(DemoRequests.Referral(subject))!.AsObject();
        referral["reason"] = new string('a', 3 * GatewayLimit);
        using var oversized = new StringContent(referral.ToJsonString(), Encoding.UTF8, "application/json");

        // Sent as a careful client sends a large body (Expect: 100-continue): the service refuses on the declared length
        // before the body, and the client reads that answer instead of writing on into a connection already closed.
        using var request = new HttpRequestMessage(HttpMethod.Post, ReferralPath) { Content = oversized };
        request.Headers.ExpectContinue = true;
        var refused = await direct.SendAsync(request, Ct);

        refused.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        refused.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var problem = await refused.Content.ReadAsStringAsync(Ct);
        problem.ShouldNotContain(subject);
        problem.ShouldNotContain("aaaa");

        // The same token and route with a body of ordinary size is accepted: the size alone was refused.
        var accepted = await direct.PostAsJsonAsync(ReferralPath, DemoRequests.Referral(subject), Ct);
        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
    }

    private static string ReferralPath => $"/units/{DemoRequests.ChildHealthUnit}/referrals";

    private HttpClient DirectToChildHealth()
    {
        // The client waits for the service's answer to Expect: 100-continue however busy the machine, never sending the
        // body on a timer (a second, by default) into the race the header is there to avoid.
        // With the gateway's hop certificate and a token bound to it: all a breached gateway could send.
        var handler = hub.DirectHandler(hub.GatewayHopCertificate());
        handler.Expect100ContinueTimeout = TimeSpan.FromMinutes(1);
        var direct = new HttpClient(handler) { BaseAddress = hub.Hub.ServiceUrl("child-health") };
        var token = hub.GatewayTokens().Issue(DemoRequests.ChildHealthClient, [DemoRequests.ChildHealthUnit], "child-health");
        direct.DefaultRequestHeaders.Add(CallerTokenDefaults.HeaderName, token);
        return direct;
    }
}
