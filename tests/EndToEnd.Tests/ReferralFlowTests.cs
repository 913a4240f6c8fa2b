using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The first flow through the real gateway, broker and databases: BVC records a guardian's consent, refers the family
/// to preventive social services, the gate permits it, social services find it in their inbox and acknowledge it.
/// </summary>
public sealed class ReferralFlowTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Referral_WithGuardianConsent_IsDeliveredAcknowledgedAndTracedAsOneTrace()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, DemoRequests.ReferralPath) { Content = JsonContent.Create(DemoRequests.Referral(subject)) };
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        var submitted = await bvc.SendAsync(request, Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = body.GetProperty("messageId").GetGuid();
        var statusUrl = body.GetProperty("statusUrl").GetString()!;
        body.GetProperty("status").GetString().ShouldBe("Submitted");

        var delivered = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");
        delivered.GetProperty("basis").GetString().ShouldBe("consent");

        var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500", Ct);
        var item = inbox.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("messageId").GetGuid() == messageId);
        item.GetProperty("subjectId").GetString().ShouldBe(subject);
        item.GetProperty("sendingUnit").GetString().ShouldBe(DemoRequests.ChildHealthUnit);
        item.GetProperty("content").GetProperty("reason").GetString().ShouldNotBeNullOrEmpty();
        item.GetProperty("traceId").GetString().ShouldBe(traceId.ToHexString(), "gateway → sender → broker → gate → receiver is one trace");

        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        // The status view takes a message's steps in any order: Acknowledged may be shown before the gate's Permitted step
        // has brought its time.
        string[] steps = ["submittedAt", "decidedAt", "deliveredAt", "acknowledgedAt"];
        var acknowledged = await Eventually.MatchAsync(
            () => bvc.GetFromJsonAsync<JsonElement>(statusUrl, Ct),
            s => s.GetProperty("status").GetString() == "Acknowledged" && steps.All(p => s.GetProperty(p).ValueKind == JsonValueKind.String),
            TimeSpan.FromSeconds(30), last => $"{statusUrl} did not show every step acknowledged; last seen: {last}", cancellationToken: Ct);

        var times = steps.Select(p => acknowledged.GetProperty(p).GetDateTimeOffset()).ToArray();
        times.ShouldBe(times.Order().ToArray(), "submitted → permitted → delivered → acknowledged");
    }

    [Fact]
    public async Task Referral_WithoutConsent_IsRefusedWithAReasonAndNeverReachesTheInbox()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();

        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = body.GetProperty("messageId").GetGuid();

        var refused = await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Refused");
        refused.GetProperty("reasons").EnumerateArray().Select(r => r.GetString())
            .ShouldContain($"no consent covers Referral from unit {DemoRequests.ChildHealthUnit} to unit {DemoRequests.SocialServicesUnit}");

        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500&includeAcknowledged=true", Ct);
        inbox.GetProperty("items").EnumerateArray().ShouldNotContain(i => i.GetProperty("subjectId").GetString() == subject);
    }

    [Fact]
    public async Task Referral_WithInvalidIdentityNumber_Gets400ProblemDetailsAndNothingIsSent()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var invalid = "202403152389";
        var before = await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{DemoRequests.ChildHealthUnit}/sent?limit=1", Ct);

        var response = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(invalid), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadAsStringAsync(Ct);
        problem.ShouldContain("subjectId");
        problem.ShouldNotContain(invalid, customMessage: "an error message never repeats an identity number");
        var after = await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{DemoRequests.ChildHealthUnit}/sent?limit=1", Ct);
        after.GetProperty("items").ToString().ShouldBe(before.GetProperty("items").ToString());
    }

    [Fact]
    public async Task Referral_FromAUnitTheClientDoesNotActFor_IsForbidden()
    {
        using var solglantan = hub.Client("solglantan-ehr");

        var response = await solglantan.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(HubFixture.NewSubject()), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Service_CalledDirectlyWithoutTheGatewaysToken_Is401()
    {
        // As the gateway would connect (its hop certificate), but with no caller token.
        using var hop = hub.GatewayHopCertificate();
        using var direct = hub.Direct("child-health", hop);

        var response = await direct.PostAsJsonAsync($"/units/{DemoRequests.ChildHealthUnit}/referrals", DemoRequests.Referral(HubFixture.NewSubject()), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
