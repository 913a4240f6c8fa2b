using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Fail closed, lose nothing: while the consent store cannot be reached the gate decides nothing and delivers nothing,
/// and the message waits in the broker until the store is back, however long that takes.
/// </summary>
public sealed class FailClosedTests(PrivateHubFixture fixture) : IClassFixture<PrivateHubFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gate_WhileTheConsentStoreIsDown_HoldsTheReferralAndDeliversItOnceTheStoreIsBack()
    {
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        using var social = fixture.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        await fixture.Hub.Postgres.StopAsync(Ct);
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        // Longer than every bounded retry: a message that ends up in an error queue would stay there.
        await Task.Delay(TimeSpan.FromSeconds(25), Ct);
        await fixture.Hub.Postgres.StartAsync(Ct);

        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted, "the broker was up, so the submission was accepted");
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var delivered = await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Delivered", TimeSpan.FromSeconds(60));
        delivered.GetProperty("basis").GetString().ShouldBe("consent");
        var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500", Ct);
        inbox.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("subjectId").GetString() == subject).ShouldBe(1);
    }
}
