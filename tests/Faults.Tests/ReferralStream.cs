using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>One referral as the client saw it: every attempt, and the answer that finally accepted it (if any).</summary>
public sealed class Submission(string idempotencyKey, string subject, bool consented)
{
    public string IdempotencyKey { get; } = idempotencyKey;

    public string Subject { get; } = subject;

    /// <summary>False for a subject without consent: the gate must refuse it, whatever fails meanwhile.</summary>
    public bool Consented { get; } = consented;

    public DateTimeOffset FirstAttemptAt { get; set; }

    public DateTimeOffset? AcceptedAt { get; set; }

    public Guid? MessageId { get; set; }

    /// <summary>Every message id the hub answered with for this key: more than one would be a duplicate in the making.</summary>
    public HashSet<Guid> MessageIdsSeen { get; } = [];

    /// <summary>Attempts answered with something other than 202 (503 while the broker is away, 502 while a service is), or not at all.</summary>
    public List<string> Rejections { get; } = [];
}

/// <summary>
/// A steady stream of referrals from BVC Rosengård to preventive social services, sent the way a careful EHR
/// integration sends: each referral has its own Idempotency-Key, and a referral not answered 202 is sent again with the
/// same key (after Retry-After, when given) until it is accepted. Open loop: a slow hub does not slow the stream down.
/// One referral in ten is about a child without consent, which the gate must refuse.
/// </summary>
public sealed class ReferralStream(HttpClient client, IReadOnlyList<string> consented, IReadOnlyList<string> unconsented)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    public List<Submission> Submissions { get; } = [];

    /// <summary>
    /// Sends until <paramref name="stopSending"/> fires, then keeps retrying what is not yet accepted for up to
    /// <paramref name="retryFor"/>, and returns when every referral is accepted or given up.
    /// </summary>
    public async Task RunAsync(double rate, CancellationToken stopSending, TimeSpan retryFor, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var stoppedAtTicks = long.MaxValue; // read by the retrying sends, set once sending stops
        var sends = new List<Task>();
        var run = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; !stopSending.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            if (due > clock.Elapsed)
            {
                try
                {
                    await Task.Delay(due - clock.Elapsed, stopSending);
                }
                catch (OperationCanceledException) when (stopSending.IsCancellationRequested)
                {
                    break;
                }
            }

            var withConsent = i % 10 != 9;
            var subjects = withConsent ? consented : unconsented;
            var submission = new Submission($"fault-{run}-{i}", subjects[i % subjects.Count], withConsent);
            Submissions.Add(submission);
            sends.Add(SendUntilAcceptedAsync(submission, () => clock.Elapsed.Ticks - retryFor.Ticks < Volatile.Read(ref stoppedAtTicks), cancellationToken));
        }

        Volatile.Write(ref stoppedAtTicks, clock.Elapsed.Ticks);
        await Task.WhenAll(sends);
    }

    private async Task SendUntilAcceptedAsync(Submission submission, Func<bool> mayRetry, CancellationToken cancellationToken)
    {
        submission.FirstAttemptAt = DateTimeOffset.UtcNow;
        do
        {
            var backoff = TimeSpan.FromMilliseconds(500);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, DemoRequests.ReferralPath)
                {
                    Content = JsonContent.Create(DemoRequests.Referral(submission.Subject)),
                };
                request.Headers.Add("Idempotency-Key", submission.IdempotencyKey);
                using var response = await client.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                    var id = body.RootElement.GetProperty("messageId").GetGuid();
                    lock (submission)
                    {
                        submission.MessageIdsSeen.Add(id);
                        submission.MessageId = id;
                        submission.AcceptedAt = DateTimeOffset.UtcNow;
                    }
                    return;
                }

                submission.Rejections.Add(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (response.Headers.RetryAfter?.Delta is { } retryAfter)
                {
                    backoff = retryAfter < MaxBackoff ? retryAfter : MaxBackoff;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                submission.Rejections.Add(e is TaskCanceledException ? "timeout" : "no answer");
            }

            await Task.Delay(backoff, cancellationToken);
        }
        while (mayRetry());
    }
}
