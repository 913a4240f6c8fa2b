using System.CommandLine;
using System.Globalization;
using FamiljecentralHub.LocalHub.Bench;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>'bench-gateway': S1, one request through the gateway and straight to the service (<see cref="GatewayBenchmark"/>).</summary>
internal static class GatewayBenchCommand
{
    public static Command Create()
    {
        var inFlight = new Option<string>("--inflight") { Description = "Requests in flight, comma-separated.", DefaultValueFactory = _ => "1,16,64" };
        var seconds = new Option<int>("--seconds") { Description = "How long each measurement runs.", DefaultValueFactory = _ => 10 };
        var warmUp = new Option<int>("--warm-up") { Description = "Seconds of the same loop before each measurement.", DefaultValueFactory = _ => 5 };
        var record = new Option<bool>("--record") { Description = "Append the figures, with date and command, to docs/benchmarks.md." };
        var command = new Command("bench-gateway", "The same request through the gateway and straight to the service's Kestrel: rate, latency and CPU per request.")
        {
            inFlight, seconds, warmUp, record,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var counts = parseResult.GetValue(inFlight)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToList();
            if (counts.Count == 0 || counts.Any(c => c is < 1 or > 1024) || parseResult.GetValue(seconds) < 1)
            {
                Console.Error.WriteLine("bench-gateway: --inflight takes counts from 1 to 1024, --seconds at least 1.");
                return 2;
            }

            await using var hub = await BenchCommand.StartHubAsync(null, cancellationToken);
            var runs = await new GatewayBenchmark(hub, DemoPki.Ensure(hub.PkiDir, hub.ClientIds), Console.Out).RunAsync(
                counts, TimeSpan.FromSeconds(parseResult.GetValue(seconds)), TimeSpan.FromSeconds(parseResult.GetValue(warmUp)), cancellationToken);
            var markdown = GatewayBenchmark.Render(BenchCommand.CommandLine("bench-gateway", "deploy/bench.sh --scenario gateway"), runs);
            await BenchCommand.PrintAsync(markdown, path: null, parseResult.GetValue(record), cancellationToken);

            return runs.Any(r => r.Failed > 0) ? 1 : 0;
        });
        return command;
    }
}
