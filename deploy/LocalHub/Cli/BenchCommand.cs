using System.CommandLine;
using FamiljecentralHub.LocalHub.Bench;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>'bench': a fresh hub on free ports, a steady stream of referrals through the gateway, the figures printed.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var rate = new Option<double>("--rate") { Description = "Referrals per second.", DefaultValueFactory = _ => 200 };
        var seconds = new Option<int>("--seconds") { Description = "How long to send.", DefaultValueFactory = _ => 30 };
        var warmUp = new Option<int>("--warm-up") { Description = "Seconds of the same load before measuring.", DefaultValueFactory = _ => 30 };
        var subjects = new Option<int>("--subjects") { Description = "Distinct demo children, each with a recorded consent.", DefaultValueFactory = _ => 50 };
        var output = new Option<string?>("--output") { Description = "Also write the figures to this file." };
        var command = new Command("bench", "Send referrals through the gateway at a steady rate and print throughput and submit → delivered latency.")
        {
            rate, seconds, warmUp, subjects, output,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await using var hub = await Hub.StartAsync(
                new HubOptions
                {
                    UseFreePorts = true,
                    Nodes = HubNodes.Private,
                    Log = Console.WriteLine,
                    // The benchmark is one client at full speed: the per-client limit would measure itself, not the hub.
                    ConfigureEnvironment = (process, environment) =>
                    {
                        // For experiments with runtime settings, e.g. HUB_BENCH_ENV="DOTNET_gcServer=0;DOTNET_TieredPGO=0":
                        // every service and the gateway get them (docs/benchmarks.md records what was tried).
                        foreach (var variable in (Environment.GetEnvironmentVariable("HUB_BENCH_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
                        {
                            var (name, value) = (variable[..variable.IndexOf('=', StringComparison.Ordinal)], variable[(variable.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                            environment[name] = value;
                        }

                        if (process == "gateway")
                        {
                            environment["Gateway__Limits__PermitsPerSecond"] = "100000";
                            environment["Gateway__Limits__Burst"] = "100000";
                        }
                    },
                },
                cancellationToken);
            var pki = DemoPki.Ensure(hub.PkiDir, hub.ClientIds);
            var result = await new ReferralBenchmark(hub.GatewayUrl, pki, Console.Out).RunAsync(
                parseResult.GetValue(rate), TimeSpan.FromSeconds(parseResult.GetValue(seconds)), TimeSpan.FromSeconds(parseResult.GetValue(warmUp)),
                parseResult.GetValue(subjects), cancellationToken);
            var table = result.ToTable();
            Console.WriteLine();
            Console.WriteLine(table);
            if (parseResult.GetValue(output) is { } path)
            {
                await File.WriteAllTextAsync(path, table + Environment.NewLine, cancellationToken);
            }

            return result.Delivered == result.Sent ? 0 : 1;
        });
        return command;
    }
}
