using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Bench;

/// <param name="FirstSubject">The first demo child's index (<see cref="DemoIdentityNumbers.Child"/>): a hub shared with other
/// work must not see their children's consents.</param>
public sealed record EndToEndOptions(
    IReadOnlyList<double> Rates, int Runs, TimeSpan Duration, TimeSpan WarmUp, int Subjects, double RefusedShare, TimeSpan Settle, int FirstSubject = 0);

public sealed record BacklogOptions(double Rate, string Service, TimeSpan Before, TimeSpan Stopped, TimeSpan After, TimeSpan WarmUp, int Subjects, TimeSpan Settle);

/// <summary>S6: one service stopped under load and started again; how fast the hub catches up.</summary>
public sealed record BacklogResult(
    BacklogOptions Options, int Sent, int Accepted, int Acknowledged, int Lost, int PeakBacklog, double StartSeconds,
    double? EmptySeconds, double DrainRate, Percentiles BeforeStop, Percentiles DuringDrain, Percentiles AfterDrain,
    IReadOnlyDictionary<string, double> MemoryDuringDrain);

/// <summary>One measured run at one rate: what was sent, what arrived, how long it took, what it cost.</summary>
public sealed record RunResult(
    double Rate, int Run, int Sent, int Accepted, int Permitted, int Acknowledged, int Refused, int Lost, double Offered,
    Percentiles SubmitLatency, Percentiles SeenLatency, Percentiles AcknowledgedLatency, Percentiles DeliveredLatency, Percentiles DecidedLatency,
    IReadOnlyDictionary<string, double> CpuPerReferral, double SwitchesPerReferral);

public sealed record Percentiles(double P50, double P95, double P99, double Max)
{
    public static Percentiles Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0
            ? new Percentiles(double.NaN, double.NaN, double.NaN, double.NaN)
            : new Percentiles(At(sorted, 0.50), At(sorted, 0.95), At(sorted, 0.99), sorted[^1]);
    }

    private static double At(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>
/// S4 and S5 of the performance issue: referrals as a user lives them. The child-health system submits through the
/// gateway at a steady rate (open loop: a slow hub does not slow the sender, so queueing shows in the latencies), a
/// share of them for children without consent (refused by the gate); the social-services system polls its inbox
/// through the gateway, takes each message with its body and acknowledges it. Every latency starts at the send's
/// scheduled time, not when the send task got to run, so a sender that falls behind shows as latency. A permitted
/// referral ends when the receiver has it (seen: the committed inbox row came back in a listing) and when its
/// acknowledgement returned; a refused one when the gate's decision is in the sender's status view. CPU is read from
/// /proc per process over the sending window only (1 s trimmed at each end), beside the machine's total. Both systems
/// talk HTTP/2 unless told otherwise: over HTTP/1.1 a client needs a connection per request in flight, so a moment's
/// latency makes it open hundreds of TLS connections at once, and the handshakes then cost more than the referrals
/// (docs/benchmarks.md, "The slow state").
/// </summary>
/// <param name="receiverWait">
/// How long the receiver's listing of an empty inbox asks to wait for a message (<c>wait</c>); zero, or a hub that answers
/// an empty listing at once, and the receiver polls every <see cref="PollEvery"/> instead, as a simple integration would.
/// </param>
/// <param name="acknowledgeMany">Whether the receiver acknowledges what a listing returned in one request per hundred messages, or one per message.</param>
internal sealed class EndToEndBenchmark(Hub hub, DemoPki pki, TextWriter output, bool http2 = true, TimeSpan? receiverWait = null, bool acknowledgeMany = true)
{
    private readonly ProcessCpu cpu = new(hub);
    private readonly ConcurrentDictionary<Guid, long> seen = new();
    private readonly ConcurrentDictionary<Guid, long> acknowledged = new();
    private readonly long epochTimestamp = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset epoch = DateTimeOffset.UtcNow;

    public Dictionary<string, double> IdleMemory { get; private set; } = [];

    /// <summary>CPU milliseconds per second of each process with no load at all: work that does not scale with messages.</summary>
    public Dictionary<string, double> IdleCpu { get; private set; } = [];

    /// <summary>
    /// The same after the warm-up has settled, the receiver not polling: what a warm hub spends doing nothing, without a
    /// fresh process's compiling.
    /// </summary>
    public Dictionary<string, double> WarmIdleCpu { get; private set; } = [];

    /// <summary>
    /// The same with the receiver listing its empty inbox (each listing waiting up to the receiver's wait, or every 20 ms
    /// where the hub answers at once): what waiting for messages costs.
    /// </summary>
    public Dictionary<string, double> PollingIdleCpu { get; private set; } = [];

    private volatile bool receiverPaused;

    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(20);

    /// <summary>Whether the receiver acknowledges a page in one request; off after a hub answers that it has no such endpoint.</summary>
    private bool acknowledgesMany = acknowledgeMany;

    private TimeSpan Wait { get; } = receiverWait ?? TimeSpan.FromSeconds(5);

    private string WaitQuery => Wait > TimeSpan.Zero ? $"&wait={(int)Wait.TotalSeconds}" : "";

    public Dictionary<double, Dictionary<string, double>> MemoryByRate { get; } = [];

    public async Task<IReadOnlyList<RunResult>> RunAsync(EndToEndOptions options, CancellationToken cancellationToken)
    {
        using var sender = HubHttp.CreateClient(pki, DemoRequests.ChildHealthClient, hub.GatewayUrl, maxConnections: 256, http2: http2);
        using var receiver = HubHttp.CreateClient(pki, DemoRequests.SocialServicesClient, hub.GatewayUrl, maxConnections: 64, http2: http2);
        var (consented, unconsented) = await RecordConsentsAsync(sender, options.Subjects, options.FirstSubject, cancellationToken);
        IdleMemory = await cpu.MemoryAsync(cancellationToken);
        var idleFor = TimeSpan.FromSeconds(Math.Min(10, options.WarmUp.TotalSeconds));
        var idleStart = cpu.Take();
        await Task.Delay(idleFor, cancellationToken);
        IdleCpu = ProcessCpu.Between(idleStart, cpu.Take()).ToDictionary(pair => pair.Key, pair => pair.Value / idleFor.TotalSeconds, StringComparer.Ordinal);
        using var stopReceiving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = ReceiveAsync(receiver, stopReceiving.Token);
        try
        {
            // A freshly started .NET service spends its first minutes compiling hot code again at a higher tier; the
            // hub runs for months: measure it warm.
            output.WriteLine($"Warming up at {options.Rates[0]}/s for {options.WarmUp.TotalSeconds:0} s…");
            var warm = await SendAsync(sender, consented, unconsented, options.Rates[0], (int)(options.Rates[0] * options.WarmUp.TotalSeconds), options.RefusedShare, cancellationToken);
            await SettleAsync(sender, warm, options.Settle, cancellationToken);
            await QuietAsync(options.Settle, cancellationToken);
            receiverPaused = true;
            await Task.Delay(Wait + TimeSpan.FromSeconds(1), cancellationToken); // a listing under way ends
            idleStart = cpu.Take();
            await Task.Delay(idleFor, cancellationToken);
            WarmIdleCpu = ProcessCpu.Between(idleStart, cpu.Take()).ToDictionary(pair => pair.Key, pair => pair.Value / idleFor.TotalSeconds, StringComparer.Ordinal);
            receiverPaused = false;
            idleStart = cpu.Take();
            await Task.Delay(idleFor, cancellationToken);
            PollingIdleCpu = ProcessCpu.Between(idleStart, cpu.Take()).ToDictionary(pair => pair.Key, pair => pair.Value / idleFor.TotalSeconds, StringComparer.Ordinal);

            var results = new List<RunResult>();
            foreach (var rate in options.Rates)
            {
                for (var run = 1; run <= options.Runs; run++)
                {
                    results.Add(await MeasureAsync(sender, consented, unconsented, rate, run, options, cancellationToken));
                    output.WriteLine(Describe(results[^1]));
                }

                MemoryByRate[rate] = await cpu.MemoryAsync(cancellationToken);
            }

            return results;
        }
        finally
        {
            await stopReceiving.CancelAsync();
            await receiving.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// S6: referrals (all permitted) at a steady rate; after <see cref="BacklogOptions.Before"/> one service (the gate,
    /// a receiver) is stopped for <see cref="BacklogOptions.Stopped"/>, then started while the load goes on. The backlog
    /// is what was accepted but not yet received; it is empty again when at most a fifth of a second's arrivals are
    /// outstanding. Drain rate: messages received per second from the service's readiness until then.
    /// </summary>
    public async Task<BacklogResult> BacklogAsync(BacklogOptions options, CancellationToken cancellationToken)
    {
        var service = hub.Services[options.Service];
        using var sender = HubHttp.CreateClient(pki, DemoRequests.ChildHealthClient, hub.GatewayUrl, maxConnections: 256, http2: http2);
        using var receiver = HubHttp.CreateClient(pki, DemoRequests.SocialServicesClient, hub.GatewayUrl, maxConnections: 64, http2: http2);
        var (consented, unconsented) = await RecordConsentsAsync(sender, options.Subjects, 0, cancellationToken);
        IdleMemory = await cpu.MemoryAsync(cancellationToken);
        using var stopReceiving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = ReceiveAsync(receiver, stopReceiving.Token);
        try
        {
            output.WriteLine($"Warming up at {options.Rate}/s for {options.WarmUp.TotalSeconds:0} s…");
            await SettleAsync(sender, await SendAsync(sender, consented, unconsented, options.Rate, (int)(options.Rate * options.WarmUp.TotalSeconds), 0, cancellationToken),
                options.Settle, cancellationToken);

            var ids = new ConcurrentDictionary<Guid, byte>();
            int Backlog() => ids.Keys.Count(id => !seen.ContainsKey(id));
            int Received() => ids.Keys.Count(seen.ContainsKey);
            var count = (int)(options.Rate * (options.Before + options.Stopped + options.After).TotalSeconds);
            output.WriteLine($"Sending {count} referrals at {options.Rate}/s; {options.Service} stops after {options.Before.TotalSeconds:0} s for {options.Stopped.TotalSeconds:0} s…");
            var sending = SendAsync(sender, consented, unconsented, options.Rate, count, 0, cancellationToken, id => ids.TryAdd(id, 0));

            await Task.Delay(options.Before, cancellationToken);
            var stoppedAt = Stopwatch.GetTimestamp();
            await service.StopAsync(cancellationToken);
            var peak = 0;
            while (Stopwatch.GetElapsedTime(stoppedAt) < options.Stopped)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                peak = Math.Max(peak, Backlog());
            }

            var startedAt = Stopwatch.GetTimestamp();
            await service.StartAsync(cancellationToken);
            await service.WaitUntilReadyAsync(cancellationToken);
            var readyAt = Stopwatch.GetTimestamp();
            var receivedAtReady = Received();
            peak = Math.Max(peak, Backlog());
            output.WriteLine($"{options.Service} ready again after {Stopwatch.GetElapsedTime(startedAt).TotalSeconds:0.0} s; backlog {peak}.");
            var threshold = Math.Max(10, (int)(options.Rate / 5));
            long? emptyAt = null;
            Dictionary<string, double>? memory = null;
            var giveUp = readyAt + (long)((options.After + options.Settle).TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < giveUp)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
                if (memory is null && Stopwatch.GetElapsedTime(readyAt) > TimeSpan.FromSeconds(2))
                {
                    memory = await cpu.MemoryAsync(cancellationToken);
                }

                if (Backlog() <= threshold)
                {
                    emptyAt = Stopwatch.GetTimestamp();
                    break;
                }
            }

            var receivedAtEmpty = Received();
            var sent = await sending;
            var outcome = await SettleAsync(sender, sent, options.Settle, cancellationToken);
            var accepted = sent.Where(s => s.MessageId is not null).ToList();
            IEnumerable<double> Latencies(Func<long, bool> scheduled) => accepted
                .Where(s => scheduled(s.Scheduled) && seen.ContainsKey(s.MessageId!.Value))
                .Select(s => Stopwatch.GetElapsedTime(s.Scheduled, seen[s.MessageId!.Value]).TotalMilliseconds);
            var end = emptyAt ?? long.MaxValue;
            var drainSeconds = Stopwatch.GetElapsedTime(readyAt, emptyAt ?? Stopwatch.GetTimestamp()).TotalSeconds;
            return new BacklogResult(
                options, count, accepted.Count, accepted.Count(s => acknowledged.ContainsKey(s.MessageId!.Value)), outcome.Missing, peak,
                Stopwatch.GetElapsedTime(startedAt, readyAt).TotalSeconds, emptyAt is null ? null : drainSeconds,
                (receivedAtEmpty - receivedAtReady) / drainSeconds,
                Percentiles.Of(Latencies(t => t < stoppedAt)), Percentiles.Of(Latencies(t => t >= readyAt && t < end)), Percentiles.Of(Latencies(t => t >= end)),
                memory ?? await cpu.MemoryAsync(cancellationToken));
        }
        finally
        {
            await stopReceiving.CancelAsync();
            await receiving.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task<(string[] Consented, string[] Unconsented)> RecordConsentsAsync(HttpClient sender, int subjects, int first, CancellationToken cancellationToken)
    {
        output.WriteLine($"Recording consent for {subjects} demo children…");
        var consented = Enumerable.Range(first, subjects).Select(DemoIdentityNumbers.Child).ToArray();
        // Children without consent: the gate refuses every referral about them.
        var unconsented = Enumerable.Range(first + subjects, Math.Max(1, subjects / 10)).Select(DemoIdentityNumbers.Child).ToArray();
        await Parallel.ForEachAsync(consented, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (id, ct) =>
        {
            using var response = await sender.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(id, DateTimeOffset.UtcNow), ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new LocalHubException($"Recording a consent gave {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            }
        });
        return (consented, unconsented);
    }

    private async Task<RunResult> MeasureAsync(
        HttpClient sender, string[] consented, string[] unconsented, double rate, int run, EndToEndOptions options, CancellationToken cancellationToken)
    {
        var count = (int)(rate * options.Duration.TotalSeconds);
        var trim = TimeSpan.FromSeconds(1);
        Task<ProcessCpu.Snapshot> first = Task.Delay(trim, cancellationToken).ContinueWith(_ => cpu.Take(), cancellationToken, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        var windowStart = Stopwatch.GetTimestamp();
        Task<ProcessCpu.Snapshot> last = Task.Delay(options.Duration - trim, cancellationToken).ContinueWith(_ => cpu.Take(), cancellationToken, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        var sent = await SendAsync(sender, consented, unconsented, rate, count, options.RefusedShare, cancellationToken);
        // Offered: how fast the load generator issued the requests (it falls behind its schedule when starved of CPU).
        var offered = count / Stopwatch.GetElapsedTime(windowStart, sent.Max(s => s.Issued)).TotalSeconds;
        var (firstSnapshot, lastSnapshot) = (await first, await last);
        var used = ProcessCpu.Between(firstSnapshot, lastSnapshot);

        var outcome = await SettleAsync(sender, sent, options.Settle, cancellationToken);
        await QuietAsync(options.Settle, cancellationToken);
        // CPU per referral completed inside the window (acknowledged, or its refusal decided): below saturation as
        // many as were sent in it, above it only what the hub got through, so the figure stays a cost, not a share.
        var completed = sent.Count(s => s.MessageId is { } id && (s.Refusable
            ? outcome.Refused.TryGetValue(id, out var decided) && decided >= At(firstSnapshot.At) && decided <= At(lastSnapshot.At)
            : acknowledged.TryGetValue(id, out var done) && done >= firstSnapshot.At && done <= lastSnapshot.At));
        var accepted = sent.Where(s => s.MessageId is not null).ToList();
        var permitted = accepted.Where(s => !s.Refusable).ToList();
        var refused = accepted.Where(s => s.Refusable).ToList();
        double Since(Sent s, long timestamp) => Stopwatch.GetElapsedTime(s.Scheduled, timestamp).TotalMilliseconds;
        double SinceStamp(Sent s, DateTimeOffset at) => (at - At(s.Scheduled)).TotalMilliseconds;

        return new RunResult(
            rate, run, count, accepted.Count, permitted.Count,
            permitted.Count(s => acknowledged.ContainsKey(s.MessageId!.Value)),
            refused.Count(s => outcome.Refused.ContainsKey(s.MessageId!.Value)),
            outcome.Missing, offered,
            Percentiles.Of(sent.Select(s => s.SubmitMilliseconds)),
            Percentiles.Of(permitted.Where(s => seen.ContainsKey(s.MessageId!.Value)).Select(s => Since(s, seen[s.MessageId!.Value]))),
            Percentiles.Of(permitted.Where(s => acknowledged.ContainsKey(s.MessageId!.Value)).Select(s => Since(s, acknowledged[s.MessageId!.Value]))),
            Percentiles.Of(permitted.Where(s => outcome.Delivered.ContainsKey(s.MessageId!.Value)).Select(s => SinceStamp(s, outcome.Delivered[s.MessageId!.Value]))),
            Percentiles.Of(refused.Where(s => outcome.Refused.ContainsKey(s.MessageId!.Value)).Select(s => SinceStamp(s, outcome.Refused[s.MessageId!.Value]))),
            used.ToDictionary(pair => pair.Key, pair => completed == 0 ? double.NaN : pair.Value / completed, StringComparer.Ordinal),
            completed == 0 ? double.NaN : ProcessCpu.SwitchesBetween(firstSnapshot, lastSnapshot) / (double)completed);
    }

    /// <summary>
    /// Waits until the broker holds no message for any consumer of the hub (its error queues aside), so that a run does
    /// not start with the last one's status events still queued and count their work as its own. The management API's
    /// figures are refreshed every few seconds: the queues must read empty for five seconds on end.
    /// </summary>
    private async Task QuietAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        long? emptySince = null;
        var waiting = 0L;
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            var queues = await hub.Rabbit.GetManagementAsync($"queues/{Uri.EscapeDataString(hub.VirtualHost)}?columns=name,messages", cancellationToken);
            waiting = queues.EnumerateArray()
                .Where(q => q.GetProperty("name").GetString() is { } name && !name.EndsWith("_error", StringComparison.Ordinal) && !name.EndsWith("_skipped", StringComparison.Ordinal))
                .Sum(q => q.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number ? messages.GetInt64() : 0);
            if (waiting > 0)
            {
                emptySince = null;
            }
            else if ((emptySince ??= Stopwatch.GetTimestamp()) is var since && Stopwatch.GetElapsedTime(since) >= TimeSpan.FromSeconds(5))
            {
                output.WriteLine($"  queues empty {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s after the run settled");
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        output.WriteLine($"  queues still held {waiting} messages {timeout.TotalSeconds:0} s after the run settled");
    }

    private DateTimeOffset At(long timestamp) => epoch + Stopwatch.GetElapsedTime(epochTimestamp, timestamp);

    private sealed record Sent(Guid? MessageId, bool Refusable, long Scheduled, long Issued, double SubmitMilliseconds);

    private static async Task<List<Sent>> SendAsync(
        HttpClient client, string[] consented, string[] unconsented, double rate, int count, double refusedShare, CancellationToken cancellationToken,
        Action<Guid>? accepted = null)
    {
        var start = Stopwatch.GetTimestamp();
        var tick = Stopwatch.Frequency / rate;
        var tasks = new List<Task<Sent>>(count);
        for (var i = 0; i < count; i++)
        {
            var scheduled = start + (long)(i * tick);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), scheduled);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            // Spread evenly: message i is refusable when the running share of refusable ones steps up at i.
            var refusable = (int)((i + 1) * refusedShare) > (int)(i * refusedShare);
            var subject = refusable ? unconsented[i % unconsented.Length] : consented[i % consented.Length];
            tasks.Add(SendOneAsync(client, subject, refusable, scheduled, accepted, cancellationToken));
        }

        return [.. await Task.WhenAll(tasks)];
    }

    private static async Task<Sent> SendOneAsync(
        HttpClient client, string subject, bool refusable, long scheduled, Action<Guid>? accepted, CancellationToken cancellationToken)
    {
        var issued = Stopwatch.GetTimestamp();
        try
        {
            using var response = await client.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), cancellationToken);
            var took = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                return new Sent(null, refusable, scheduled, issued, took);
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var messageId = body.RootElement.GetProperty("messageId").GetGuid();
            accepted?.Invoke(messageId);
            return new Sent(messageId, refusable, scheduled, issued, took);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Refused at the door or timed out (the client's 30 s): not accepted, counted as such rather than ending the run.
            return new Sent(null, refusable, scheduled, issued, Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds);
        }
    }

    /// <summary>
    /// The receiving system: lists its inbox (each listing returns the bodies and marks them fetched), acknowledges
    /// every new message, and lists again; a short pause only when the inbox was empty.
    /// </summary>
    private async Task ReceiveAsync(HttpClient client, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (receiverPaused)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
                continue;
            }

            try
            {
                var listed = Stopwatch.GetTimestamp();
                var page = await client.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?limit=500{WaitQuery}", cancellationToken);
                var now = Stopwatch.GetTimestamp();
                var fresh = new List<Guid>();
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    var id = item.GetProperty("messageId").GetGuid();
                    seen.TryAdd(id, now);
                    if (!acknowledged.ContainsKey(id))
                    {
                        fresh.Add(id);
                    }
                }

                if (fresh.Count == 0)
                {
                    // Answered at once (no wait asked, or a hub that does not wait): poll again shortly, as before.
                    if (Stopwatch.GetElapsedTime(listed) < TimeSpan.FromSeconds(1))
                    {
                        await Task.Delay(PollEvery, cancellationToken);
                    }

                    continue;
                }

                if (acknowledgesMany)
                {
                    // A page's messages in requests of up to 100 (the hub's bound on a list), as a receiver that took the page would.
                    foreach (var chunk in fresh.Chunk(100))
                    {
                        using var response = await client.PostAsJsonAsync($"{DemoRequests.InboxPath}/acknowledge", new { messageIds = chunk }, cancellationToken);
                        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
                        {
                            acknowledgesMany = false; // a hub without it: one request per message, below
                            break;
                        }

                        var at = Stopwatch.GetTimestamp();
                        if (response.IsSuccessStatusCode)
                        {
                            var result = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                            foreach (var id in result.GetProperty("acknowledged").EnumerateArray())
                            {
                                acknowledged.TryAdd(id.GetGuid(), at);
                            }
                        }
                    }

                    if (acknowledgesMany)
                    {
                        continue;
                    }
                }

                await Parallel.ForEachAsync(fresh, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (id, ct) =>
                {
                    using var response = await client.PostAsync($"{DemoRequests.InboxPath}/{id}/acknowledge", null, ct);
                    if (response.StatusCode == HttpStatusCode.NoContent)
                    {
                        acknowledged.TryAdd(id, Stopwatch.GetTimestamp());
                    }
                });
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // A failed listing or acknowledgement is tried again by the next round, as a real receiver would; each kind
                // of failure is said once, so a receiver that cannot receive does not pass for a hub that loses.
                if (receiverFailures.TryAdd($"{e.GetType().Name}: {e.Message}", 0))
                {
                    output.WriteLine($"  receiver: {e.GetType().Name}: {e.Message}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

    private readonly ConcurrentDictionary<string, int> receiverFailures = new(StringComparer.Ordinal);

    private sealed record Outcome(Dictionary<Guid, DateTimeOffset> Delivered, Dictionary<Guid, DateTimeOffset> Refused, int Missing);

    /// <summary>
    /// Waits until every accepted permitted referral is acknowledged by the receiver and every refusable one shows the
    /// gate's refusal in the sender's status view (paged newest first, as far back as this run reaches), or the time
    /// is up; what is still missing then is counted as lost.
    /// </summary>
    private async Task<Outcome> SettleAsync(HttpClient client, List<Sent> sent, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var expected = sent.Where(s => s.MessageId is not null).ToDictionary(s => s.MessageId!.Value, s => s.Refusable);
        var delivered = new Dictionary<Guid, DateTimeOffset>();
        var refused = new Dictionary<Guid, DateTimeOffset>();
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        int Missing() => expected.Count(pair => pair.Value ? !refused.ContainsKey(pair.Key) : !(acknowledged.ContainsKey(pair.Key) && delivered.ContainsKey(pair.Key)));
        while (true)
        {
            string? before = null;
            var found = 0;
            do
            {
                var page = await client.GetFromJsonAsync<JsonElement>(
                    $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent?limit=500{(before is null ? "" : $"&before={before}")}", cancellationToken);
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    var id = item.GetProperty("messageId").GetGuid();
                    if (!expected.TryGetValue(id, out var refusable))
                    {
                        continue;
                    }

                    found++;
                    if (!refusable && item.GetProperty("deliveredAt") is { ValueKind: JsonValueKind.String } at)
                    {
                        delivered[id] = at.GetDateTimeOffset();
                    }
                    else if (refusable && item.GetProperty("status").GetString() == "Refused")
                    {
                        refused[id] = item.GetProperty("decidedAt").GetDateTimeOffset();
                    }
                }

                before = page.GetProperty("next") is { ValueKind: JsonValueKind.String } next ? next.GetString() : null;
            }
            while (before is not null && found < expected.Count);

            var missing = Missing();
            if (missing == 0 || Stopwatch.GetTimestamp() > deadline)
            {
                return new Outcome(delivered, refused, missing);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static string Describe(RunResult r) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"  {r.Rate}/s run {r.Run}: offered {r.Offered:0.0}/s, {r.Accepted}/{r.Sent} accepted, {r.Acknowledged}/{r.Permitted} acknowledged, "
        + $"{r.Refused} refused, {r.Lost} lost; seen p50/p99 {r.SeenLatency.P50:0.0}/{r.SeenLatency.P99:0.0} ms, acknowledged p99 {r.AcknowledgedLatency.P99:0.0} ms; "
        + $"CPU {r.CpuPerReferral.Where(p => p.Key != ProcessCpu.Machine).Sum(p => p.Value):0.00} ms/referral (machine {r.CpuPerReferral[ProcessCpu.Machine]:0.00}), {r.SwitchesPerReferral:0} context switches/referral");
}
