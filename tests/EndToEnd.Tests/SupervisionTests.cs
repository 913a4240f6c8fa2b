using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A service that ends by itself (a crash, the kernel's OOM killer, or the messaging watchdog stopping a wedged service)
/// is started again by its supervisor, and the hub carries on; one stopped on purpose stays stopped.
/// </summary>
public sealed class SupervisionTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gate_ThatDiesByItself_IsStartedAgainAndDecidesTheReferralThatWaited()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var gate = hub.Hub.Services["consent"];
        var restarts = gate.Restarts;
        var crashed = gate.Pid!.Value;

        // From outside, as a crash: LocalHub did not ask for it.
        using (var process = Process.GetProcessById(crashed))
        {
            process.Kill();
            await process.WaitForExitAsync(Ct);
        }
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted, "the sender and the broker are up");

        await Eventually.MatchStateAsync(
            () => (Restarts: gate.Restarts, gate.IsRunning), now => now.Restarts > restarts && now.IsRunning, TimeSpan.FromSeconds(60),
            last => $"the gate was not started again within 60 s: restarts {last.Restarts} ({restarts} before), running: {last.IsRunning}",
            TimeSpan.FromMilliseconds(200), Ct);
        gate.Pid.ShouldNotBe(crashed);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Delivered", TimeSpan.FromSeconds(60));
        var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500", Ct);
        inbox.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("subjectId").GetString() == subject).ShouldBe(1);

        await gate.KillAsync(Ct);
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        gate.IsRunning.ShouldBeFalse("a service killed on purpose is not started again behind the operator's back");
        await gate.StartAsync(Ct);
    }
}
