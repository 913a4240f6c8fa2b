using System.Diagnostics;
using System.Globalization;
using System.Text;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.ServiceDefaults.Tls;

namespace FamiljecentralHub.LocalHub.Bench;

public sealed record GatewayRun(string Path, int InFlight, int Requests, int Failed, double Rate, Percentiles Latency, IReadOnlyDictionary<string, double> CpuPerRequest);

/// <summary>
/// S1: what the gateway's hop costs. The same request (the sender's status listing, one small read) is sent in a
/// closed loop with a fixed number in flight, once through the gateway with a client certificate, once straight to
/// the service's Kestrel as the gateway itself calls it: its hop certificate on the connection and a caller token
/// minted with its key by the same issuer it uses. The difference is the gateway: TLS with client certificates, the
/// client registry, the rate limit, YARP and the token.
/// </summary>
internal sealed class GatewayBenchmark(Hub hub, DemoPki pki, TextWriter output)
{
    private const string Service = "child-health";
    private static readonly string Resource = $"/units/{DemoRequests.ChildHealthUnit}/sent?limit=1";

    public async Task<IReadOnlyList<GatewayRun>> RunAsync(IReadOnlyList<int> inFlight, TimeSpan duration, TimeSpan warmUp, CancellationToken cancellationToken)
    {
        var cpu = new ProcessCpu(hub);
        using var gateway = HubHttp.CreateClient(pki, DemoRequests.ChildHealthClient, hub.GatewayUrl, maxConnections: inFlight.Max());
        var hop = pki.LoadInternalCertificate(pki.GatewayHopCertificatePath, pki.GatewayHopKeyPath);
        var handler = InternalTls.CreateHandler(InternalTls.LoadAuthorities(pki.InternalCaCertificatePath), hop);
        handler.MaxConnectionsPerServer = inFlight.Max();
        using var direct = new HttpClient(handler) { BaseAddress = hub.ServiceUrl(Service), Timeout = TimeSpan.FromSeconds(30) };
        var tokens = new CallerTokenIssuer(pki.CallerTokenPrivateKeyPath, hop);

        HttpRequestMessage ThroughGateway() => new(HttpMethod.Get, $"/{Service}{Resource}");
        HttpRequestMessage Direct()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, Resource);
            request.Headers.TryAddWithoutValidation(CallerTokenDefaults.HeaderName, tokens.Issue(DemoRequests.ChildHealthClient, [DemoRequests.ChildHealthUnit], Service));
            return request;
        }

        var runs = new List<GatewayRun>();
        foreach (var count in inFlight)
        {
            foreach (var (path, client, request) in new[] { ("gateway", gateway, (Func<HttpRequestMessage>)ThroughGateway), ("direct", direct, Direct) })
            {
                await LoopAsync(client, request, count, warmUp, cancellationToken);
                var first = cpu.Take();
                var (latencies, failed, elapsed) = await LoopAsync(client, request, count, duration, cancellationToken);
                var used = ProcessCpu.Between(first, cpu.Take());
                var requests = latencies.Count + failed;
                runs.Add(new GatewayRun(path, count, requests, failed, latencies.Count / elapsed.TotalSeconds, Percentiles.Of(latencies),
                    used.ToDictionary(pair => pair.Key, pair => pair.Value / Math.Max(1, requests), StringComparer.Ordinal)));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {path}, {count} in flight: {runs[^1].Rate:0}/s, p50/p99 {runs[^1].Latency.P50:0.00}/{runs[^1].Latency.P99:0.00} ms, {failed} failed"));
            }
        }

        return runs;
    }

    private static async Task<(List<double> Latencies, int Failed, TimeSpan Elapsed)> LoopAsync(
        HttpClient client, Func<HttpRequestMessage> request, int inFlight, TimeSpan duration, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var latencies = new List<double>[inFlight];
        var failed = 0;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async worker =>
        {
            var own = latencies[worker] = [];
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                var sent = Stopwatch.GetTimestamp();
                using var message = request();
                using var response = await client.SendAsync(message, cancellationToken);
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    own.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }));
        return ([.. latencies.SelectMany(l => l)], failed, Stopwatch.GetElapsedTime(started));
    }

    public static string Render(string command, IReadOnlyList<GatewayRun> runs)
    {
        var text = new StringBuilder();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
        text.AppendLine("### S1: the gateway against the service's own Kestrel").AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, `{command}`, {Environment.ProcessorCount} cores, load average {string.Join(" ", load)} at the end.");
        text.AppendLine(CultureInfo.InvariantCulture, $"`GET /{Service}{Resource}` in a closed loop; CPU in ms per request from /proc over the measured window.").AppendLine();
        text.AppendLine("| path | in flight | requests/s | failed | p50 / p95 / p99 ms | CPU per request: gateway | service | load generator | all | machine |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            var all = r.CpuPerRequest.Where(p => p.Key != ProcessCpu.Machine).Sum(p => p.Value);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Path} | {r.InFlight} | {r.Rate:0} | {r.Failed} | {r.Latency.P50:0.00} / {r.Latency.P95:0.00} / {r.Latency.P99:0.00} "
                + $"| {r.CpuPerRequest.GetValueOrDefault("gateway"):0.000} | {r.CpuPerRequest.GetValueOrDefault(Service):0.000} | {r.CpuPerRequest.GetValueOrDefault(ProcessCpu.LoadGenerator):0.000} "
                + $"| {all:0.000} | {r.CpuPerRequest[ProcessCpu.Machine]:0.000} |");
        }

        return text.ToString();
    }
}
