using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>
/// While the broker cannot take a message (down, or blocking publishers under a memory alarm) the hub accepts nothing:
/// the sender gets 503 with Retry-After, not a 202 for a message that might then be lost. Sent again with the same
/// Idempotency-Key once the broker is back, the referral is accepted and delivered exactly once, even when the first,
/// unconfirmed publish reached the broker after all.
/// </summary>
[Collection(SingleNodeHub.Name)]
public sealed class BackPressureTests(SingleNodeHubFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public Task BrokerDown_SubmissionIsTurnedAwayWith503_AndTheRetryIsDeliveredOnce() =>
        TurnedAwayThenDeliveredOnceAsync(fixture.Hub.Rabbit.StopAppAsync, fixture.Hub.Rabbit.StartAppAsync);

    [Fact]
    public Task BrokerMemoryAlarm_SubmissionIsTurnedAwayWith503_AndTheRetryIsDeliveredOnce() =>
        TurnedAwayThenDeliveredOnceAsync(ct => fixture.Hub.Rabbit.SetMemoryAlarmAsync(true, ct), ct => fixture.Hub.Rabbit.SetMemoryAlarmAsync(false, ct));

    private async Task TurnedAwayThenDeliveredOnceAsync(Func<CancellationToken, Task> inject, Func<CancellationToken, Task> heal)
    {
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        var subject = FaultRun.NewSubjects(1)[0];
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).EnsureSuccessStatusCode();
        var key = Guid.NewGuid().ToString();

        await inject(Ct);
        try
        {
            using var turnedAway = await SubmitAsync(bvc, subject, key);
            turnedAway.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            turnedAway.Headers.RetryAfter.ShouldNotBeNull();
            turnedAway.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
            (await turnedAway.Content.ReadAsStringAsync(Ct)).ShouldNotContain(subject);
        }
        finally
        {
            await heal(Ct);
        }

        // The services reconnect on their own; until they have, the same answer.
        await Eventually.GetAsync(
            async () =>
            {
                using var retry = await SubmitAsync(bvc, subject, key);
                if (retry.StatusCode == HttpStatusCode.Accepted)
                {
                    return (await retry.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
                }

                retry.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
                return (Guid?)null;
            },
            TimeSpan.FromSeconds(60), _ => "the retry was not accepted within 60 s of the broker's return; every answer was 503",
            TimeSpan.FromSeconds(1), Ct);

        await using var inbox = new NpgsqlConnection(fixture.Hub.ConnectionString("social-services"));
        await Eventually.MatchAsync(
            () => inbox.ExecuteScalarAsync<int>("SELECT count(*) FROM inbox WHERE subject_id = @subject", new { subject }),
            stored => stored > 0, TimeSpan.FromSeconds(60), _ => "the accepted retry was not stored in the inbox within 60 s",
            TimeSpan.FromMilliseconds(500), Ct);

        // Long enough for a stray first copy to arrive too, if the broker took it after the 503.
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        (await inbox.ExecuteScalarAsync<int>("SELECT count(*) FROM inbox WHERE subject_id = @subject", new { subject })).ShouldBe(1);
    }

    private static Task<HttpResponseMessage> SubmitAsync(HttpClient client, string subject, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, DemoRequests.ReferralPath) { Content = JsonContent.Create(DemoRequests.Referral(subject)) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request, Ct);
    }
}
