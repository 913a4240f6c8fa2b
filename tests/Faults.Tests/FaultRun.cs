using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>
/// One fault under a steady stream: referrals flow for a while, the fault is injected and held, healed, the stream goes
/// on a little, and once every accepted referral has its outcome the run is counted (<see cref="Tally"/>).
/// </summary>
/// <summary>
/// Something done during the fault, with the stream's client and the consents of its children (subject → consent id);
/// it notes in <c>revoked</c> each subject whose consent it revoked, with the moment the hub confirmed it.
/// </summary>
public delegate Task Meanwhile(HttpClient client, IReadOnlyDictionary<string, Guid> consents, Dictionary<string, DateTimeOffset> revoked, CancellationToken cancellationToken);

public static class FaultRun
{
    /// <summary>Referrals per second: a busy family centre's day in a minute, well within what two cores carry.</summary>
    public const double Rate = 20;

    private static readonly TimeSpan Before = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan After = TimeSpan.FromSeconds(5);

    /// <summary>How long a client keeps retrying a referral not yet accepted, after the stream stops.</summary>
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(120);

    private static int nextSubject = Random.Shared.Next(0, 300_000);

    public static async Task<FaultResult> RunAsync(
        Hub hub, DemoPki pki, string fault, Func<CancellationToken, Task> inject, TimeSpan hold, Func<CancellationToken, Task> heal,
        CancellationToken cancellationToken, Meanwhile? meanwhile = null)
    {
        // Each fault starts from a ready hub: a service the previous fault led to stop itself may still be on its way back
        // (its supervisor restarts it), and this run's first requests must not meet that. A service that is gone fails here.
        await Task.WhenAll(hub.Services.Keys.SelectMany(hub.Instances).Append(hub.Gateway).Select(process => Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await process.WaitUntilReadyAsync(cancellationToken);
                    return true;
                }
                catch (LocalHubException)
                {
                    return false; // exited, and its supervisor has not started it again yet
                }
            },
            SettleTimeout, $"{process.Name} was not ready before the fault {fault}", TimeSpan.FromMilliseconds(500), cancellationToken)));
        using var bvc = HubHttp.CreateClient(pki, DemoRequests.ChildHealthClient, hub.GatewayUrl, maxConnections: 128);
        var consented = NewSubjects(18);
        var unconsented = NewSubjects(4);
        var consents = new Dictionary<string, Guid>();
        foreach (var subject in consented)
        {
            using var recorded = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), cancellationToken);
            recorded.EnsureSuccessStatusCode();
            consents[subject] = (await recorded.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();
        }

        var restartsBefore = SelfRestarts(hub);
        using var stopSending = new CancellationTokenSource();
        var stream = new ReferralStream(bvc, consented, unconsented);
        var running = stream.RunAsync(Rate, stopSending.Token, RetryFor, cancellationToken);
        await Task.Delay(Before, cancellationToken);
        var injectedAt = DateTimeOffset.UtcNow;
        await inject(cancellationToken);
        var revoked = new Dictionary<string, DateTimeOffset>();
        var sideTask = meanwhile?.Invoke(bvc, consents, revoked, cancellationToken) ?? Task.CompletedTask;
        await Task.Delay(hold, cancellationToken);
        // Recovery is timed from here: a restart's own start-up time is part of it.
        var healedAt = DateTimeOffset.UtcNow;
        await heal(cancellationToken);
        await sideTask;
        await Task.Delay(After, cancellationToken);
        await stopSending.CancelAsync();
        await running;
        var result = await Tally.CountAsync(hub, fault, stream.Submissions, healedAt, SettleTimeout, revoked.Keys.ToHashSet(), cancellationToken);
        return result with
        {
            Submissions = stream.Submissions, Revoked = revoked, InjectedAt = injectedAt, HealedAt = healedAt,
            SelfRestarts = SelfRestarts(hub) - restartsBefore,
        };
    }

    private static int SelfRestarts(Hub hub) =>
        hub.Services.Keys.SelectMany(hub.Instances).Append(hub.Gateway).Sum(process => process.Restarts);

    public static string[] NewSubjects(int count) =>
        [.. Enumerable.Range(0, count).Select(_ => DemoIdentityNumbers.Child(Interlocked.Increment(ref nextSubject)))];
}
