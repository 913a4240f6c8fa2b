using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Revocation races delivery: referrals stream in under one consent while the receiving system keeps fetching, and the
/// guardian revokes mid-stream. Whatever the interleaving, nothing the receiving system fetches after the revocation
/// took effect is stored under it, everything it had not fetched is withdrawn (and the sender told), everything it had
/// fetched is listed in a notice, and nothing submitted after the revocation is permitted.
/// </summary>
public sealed class RevocationTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Revoke_WhileReferralsAreInFlight_WithdrawsUnfetchedNotifiesFetchedAndRefusesLater()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var created = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        var consentId = created.GetProperty("id").GetGuid();

        var fetched = new ConcurrentDictionary<Guid, bool>();
        var paused = false;
        using var stopFetching = new CancellationTokenSource();
        // The receiving system pages through its inbox at 25 messages/s, slower than the stream: at the revocation it
        // has fetched some messages, not others, and is fetching while the revocation lands.
        // It starts where the inbox ends now: what other tests left unacknowledged there would otherwise hold the slow
        // fetcher back from this test's own messages until after the revocation.
        var start = await HubFixture.InboxEndAsync(social);
        var fetcher = Task.Run(async () =>
        {
            var after = start;
            while (!stopFetching.IsCancellationRequested)
            {
                if (paused)
                {
                    await Task.Delay(20, Ct);
                    continue;
                }

                var page = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?limit=5{(after is null ? "" : "&after=" + after)}", Ct);
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    after = item.GetProperty("cursor").GetString();
                    if (item.GetProperty("subjectId").GetString() == subject)
                    {
                        fetched[item.GetProperty("messageId").GetGuid()] = true;
                    }
                }

                await Task.Delay(200, Ct);
            }
        }, Ct);

        var beforeRevocation = new List<Guid>();
        var afterRevocation = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            beforeRevocation.Add(await SubmitAsync(bvc, subject));
            await Task.Delay(10, Ct);
        }

        // A backlog the receiving system has not fetched yet, whatever the machine's speed: at 25 messages/s it cannot
        // drain 30 before the revocation lands, and it is fetching while it does.
        paused = true;
        var backlog = new List<Guid>();
        for (var i = 0; i < 30; i++)
        {
            backlog.Add(await SubmitAsync(bvc, subject));
        }

        foreach (var id in backlog)
        {
            await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{id}", "Delivered");
        }

        beforeRevocation.AddRange(backlog);
        paused = false;
        var revoke = bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}/revoke",
            new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" }, Ct);
        for (var i = 0; i < 20; i++)
        {
            beforeRevocation.Add(await SubmitAsync(bvc, subject)); // racing the revocation: either outcome is lawful
        }

        (await revoke).StatusCode.ShouldBe(HttpStatusCode.OK);
        for (var i = 0; i < 20; i++)
        {
            afterRevocation.Add(await SubmitAsync(bvc, subject));
        }

        var statuses = await WaitForFinalStatusesAsync(bvc, social, consentId, beforeRevocation.Concat(afterRevocation).ToList());
        await Task.Delay(500, Ct); // let the fetcher observe anything it still could, then stop it
        await stopFetching.CancelAsync();
        await fetcher.WaitAsync(TimeSpan.FromSeconds(10), Ct).ContinueWith(_ => { }, Ct);

        TestContext.Current.TestOutputHelper?.WriteLine(
            "outcomes before revocation: " + string.Join(", ", beforeRevocation.GroupBy(id => statuses[id]).Select(g => $"{g.Key} {g.Count()}")));
        afterRevocation.ShouldAllBe(id => statuses[id] == "Refused", "nothing submitted after the revocation is permitted");
        var noticed = await NoticedAsync(social, consentId);
        foreach (var id in beforeRevocation)
        {
            switch (statuses[id])
            {
                case "Delivered":
                    fetched.ShouldContainKey(id, "a message left in the inbox was fetched before the revocation");
                    noticed.ShouldContain(id, "the receiving system is told of everything it fetched under the revoked consent");
                    break;
                case "Withdrawn":
                    fetched.ShouldNotContainKey(id, "a withdrawn message never reached the receiving system");
                    (await social.GetAsync($"{DemoRequests.InboxPath}/{id}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
                    break;
                case "Refused":
                    fetched.ShouldNotContainKey(id);
                    break;
                default:
                    throw new ShouldAssertException($"message {id} ended {statuses[id]}");
            }
        }

        noticed.ShouldBe(beforeRevocation.Where(id => statuses[id] == "Delivered").ToHashSet(), ignoreOrder: true);
        statuses.Values.ShouldContain("Delivered", "some messages were fetched before the revocation");
        statuses.Values.ShouldContain("Withdrawn", "some messages were still unfetched at the revocation");
    }

    [Fact]
    public async Task Delivery_WhileARevocationHoldsItsConsentsLock_WaitsForIt_AndThenStoresNothing()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var created = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        var consentId = created.GetProperty("id").GetGuid();

        // In the receiving service's database, a transaction takes the consent's lock as a revocation does, first.
        await using var db = NpgsqlDataSource.Create(hub.Hub.AdminConnectionString("social-services"));
        await using var revocation = await db.OpenConnectionAsync(Ct);
        await using var tx = await revocation.BeginTransactionAsync(Ct);
        await revocation.ExecuteAsync(ConsentLockSql, new { consentId }, tx);

        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = body.GetProperty("messageId").GetGuid();

        // The delivery takes the same lock before it writes, so it waits for this transaction.
        await Eventually.TrueAsync(
            async () =>
            {
                await using var look = await db.OpenConnectionAsync(Ct);
                return await look.ExecuteScalarAsync<long>(
                    """
                    SELECT count(*) FROM pg_locks
                    WHERE locktype = 'advisory' AND NOT granted
                      AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(@consentId::text, 7349120003)
                    """, new { consentId }) > 0;
            },
            TimeSpan.FromSeconds(20), "the delivery never waited for the consent's lock", cancellationToken: Ct);
        (await revocation.ExecuteScalarAsync<long>("SELECT count(*) FROM inbox WHERE message_id = @messageId", new { messageId }, tx)).ShouldBe(0);

        // The revocation lands under the lock; once it commits, the delivery reads it and stores nothing.
        await revocation.ExecuteAsync("INSERT INTO revoked_consents (consent_id, revoked_at) VALUES (@consentId, now())", new { consentId }, tx);
        await tx.CommitAsync(Ct);

        await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Withdrawn");
        await using var check = await db.OpenConnectionAsync(Ct);
        (await check.ExecuteScalarAsync<long>("SELECT count(*) FROM inbox WHERE message_id = @messageId", new { messageId })).ShouldBe(0);
    }

    /// <summary>The receiving service's per-consent lock, as its delivery and revocation consumers take it.</summary>
    private const string ConsentLockSql = "SELECT pg_advisory_xact_lock(hashtextextended(@consentId::text, 7349120003))";

    private static async Task<Guid> SubmitAsync(HttpClient bvc, string subject)
    {
        var response = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
    }

    /// <summary>Delivered counts as final only once the revocation has had its chance to withdraw it.</summary>
    /// <summary>
    /// Every message's status once none can change any more. Delivered is final only when the receiving service has
    /// dealt with the revocation (a notice names the message): until then the sender's view may still show Delivered for
    /// a message the revocation is withdrawing, and a snapshot taken then would blame the fetcher for it.
    /// </summary>
    private static async Task<Dictionary<Guid, string>> WaitForFinalStatusesAsync(HttpClient bvc, HttpClient social, Guid consentId, List<Guid> ids)
    {
        var final = new HashSet<string> { "Refused", "Withdrawn", "Delivered", "Acknowledged" };
        var (statuses, _) = await Eventually.MatchAsync(
            async () =>
            {
                Dictionary<Guid, string> seen = [];
                foreach (var id in ids)
                {
                    var status = await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{id}", Ct);
                    seen[id] = status.GetProperty("status").GetString()!;
                }

                return (Statuses: seen, Noticed: await NoticedAsync(social, consentId));
            },
            last => last.Statuses.Values.All(final.Contains)
                && last.Statuses.Where(pair => pair.Value == "Delivered").All(pair => last.Noticed.Contains(pair.Key)),
            TimeSpan.FromSeconds(30),
            last => $"not all messages reached a final status: {string.Join(", ", (last.Statuses ?? []).Values.GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}"))}"
                + $", {(last.Statuses ?? []).Count(pair => pair.Value == "Delivered" && !(last.Noticed ?? []).Contains(pair.Key))} delivered without a notice",
            cancellationToken: Ct);
        await Task.Delay(1000, Ct);
        return statuses;
    }

    /// <summary>The messages the receiving unit's notices name under the consent.</summary>
    private static async Task<HashSet<Guid>> NoticedAsync(HttpClient social, Guid consentId) =>
        (await social.GetFromJsonAsync<JsonElement>($"/social-services/units/{DemoRequests.SocialServicesUnit}/notices", Ct)).EnumerateArray()
            .Where(n => n.GetProperty("consentId").GetGuid() == consentId)
            .SelectMany(n => n.GetProperty("messageIds").EnumerateArray().Select(m => m.GetGuid()))
            .ToHashSet();
}
