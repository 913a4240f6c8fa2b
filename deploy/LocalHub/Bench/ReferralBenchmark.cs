using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Bench;

public sealed record BenchmarkResult(
    int Sent, int Accepted, int Delivered, double OfferedRate, double DeliveredRate,
    double SubmitP50, double SubmitP99, double DeliveredP50, double DeliveredP95, double DeliveredP99, double DeliveredMax)
{
    public string ToTable() => string.Create(CultureInfo.InvariantCulture, $"""
        referrals sent            {Sent}
        accepted (202)            {Accepted}
        delivered                 {Delivered}
        offered rate              {OfferedRate:0.0}/s
        delivered rate            {DeliveredRate:0.0}/s
        submit (HTTP 202) p50/p99 {SubmitP50:0.0} / {SubmitP99:0.0} ms
        submit → delivered p50    {DeliveredP50:0.0} ms
        submit → delivered p95    {DeliveredP95:0.0} ms
        submit → delivered p99    {DeliveredP99:0.0} ms
        submit → delivered max    {DeliveredMax:0.0} ms
        """);
}

/// <summary>
/// Sends referrals through the real gateway at a steady rate (open loop: a slow hub does not slow the sender down, so
/// queueing shows up in the latencies) and measures, per message, the time from just before the POST to the moment
/// the receiving service stored it in its inbox, as the sender's status view reports it. Everything runs on one
/// machine, so the two clocks are the same clock. The load generator shares the two cores with the hub.
/// </summary>
public sealed class ReferralBenchmark(Uri gatewayUrl, DemoPki pki, TextWriter output)
{
    public async Task<BenchmarkResult> RunAsync(double rate, TimeSpan duration, TimeSpan warmUp, int subjects, CancellationToken cancellationToken)
    {
        using var bvc = HubHttp.CreateClient(pki, DemoRequests.ChildHealthClient, gatewayUrl, maxConnections: 128);
        output.WriteLine($"Recording consent for {subjects} demo children…");
        var subjectIds = Enumerable.Range(0, subjects).Select(DemoIdentityNumbers.Child).ToArray();
        foreach (var id in subjectIds)
        {
            (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(id, DateTimeOffset.UtcNow), cancellationToken)).EnsureSuccessStatusCode();
        }

        // A freshly started .NET service spends its first minute compiling hot code again at a higher tier; on two
        // cores shared by ten processes that is a large share of the CPU. The hub runs for months: measure it warm.
        output.WriteLine($"Warming up at {rate}/s for {warmUp.TotalSeconds:0} s…");
        await SendAsync(bvc, subjectIds, rate, (int)(rate * warmUp.TotalSeconds), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);

        var count = (int)(rate * duration.TotalSeconds);
        output.WriteLine($"Sending {count} referrals at {rate}/s for {duration.TotalSeconds:0} s…");
        var started = DateTimeOffset.UtcNow;
        var sent = await SendAsync(bvc, subjectIds, rate, count, cancellationToken);
        var offered = count / (DateTimeOffset.UtcNow - started).TotalSeconds;
        var accepted = sent.Where(s => s.MessageId is not null).ToDictionary(s => s.MessageId!.Value);

        output.WriteLine($"Waiting for {accepted.Count} deliveries…");
        var delivered = await WaitForDeliveriesAsync(bvc, accepted.Keys.ToHashSet(), TimeSpan.FromSeconds(120), cancellationToken);
        var latencies = delivered.Select(d => (d.Value - accepted[d.Key].SentAt).TotalMilliseconds).Order().ToArray();
        var submit = accepted.Values.Select(s => s.SubmitMilliseconds).Order().ToArray();
        var lastDelivery = delivered.Count > 0 ? delivered.Values.Max() : started;
        return new BenchmarkResult(
            count, accepted.Count, delivered.Count, offered, delivered.Count / (lastDelivery - started).TotalSeconds,
            Percentile(submit, 0.50), Percentile(submit, 0.99),
            Percentile(latencies, 0.50), Percentile(latencies, 0.95), Percentile(latencies, 0.99), latencies.LastOrDefault());
    }

    private sealed record Sent(Guid? MessageId, DateTimeOffset SentAt, double SubmitMilliseconds);

    private static async Task<List<Sent>> SendAsync(HttpClient client, string[] subjects, double rate, int count, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var tasks = new List<Task<Sent>>(count);
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, cancellationToken);
            }

            tasks.Add(SendOneAsync(client, subjects[i % subjects.Length], cancellationToken));
        }

        return [.. await Task.WhenAll(tasks)];
    }

    private static async Task<Sent> SendOneAsync(HttpClient client, string subject, CancellationToken cancellationToken)
    {
        var at = DateTimeOffset.UtcNow;
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await client.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), cancellationToken);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                return new Sent(null, at, watch.Elapsed.TotalMilliseconds);
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return new Sent(body.RootElement.GetProperty("messageId").GetGuid(), at, watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Refused or timed out (the client's 30 s): not accepted, and counted as such rather than ending the run.
            return new Sent(null, at, watch.Elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Pages through the sender's status view until every accepted message shows a delivery time.</summary>
    private static async Task<Dictionary<Guid, DateTimeOffset>> WaitForDeliveriesAsync(
        HttpClient client, HashSet<Guid> expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var delivered = new Dictionary<Guid, DateTimeOffset>();
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (delivered.Count < expected.Count && DateTimeOffset.UtcNow < deadline)
        {
            string? before = null;
            do
            {
                var page = await client.GetFromJsonAsync<JsonElement>(
                    $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent?limit=500{(before is null ? "" : $"&before={before}")}", cancellationToken);
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    var id = item.GetProperty("messageId").GetGuid();
                    if (expected.Contains(id) && item.GetProperty("deliveredAt").ValueKind == JsonValueKind.String)
                    {
                        delivered[id] = item.GetProperty("deliveredAt").GetDateTimeOffset();
                    }
                }

                before = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
            }
            while (before is not null);

            if (delivered.Count < expected.Count)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }

        return delivered;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
