using System.CommandLine;
using System.Globalization;
using FamiljecentralHub.LocalHub.Bench;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'bench': S4/S5 of the performance issue. A fresh hub on free ports with private nodes, referrals submitted,
/// received, fetched and acknowledged through the gateway at each rate of a sweep, several runs per rate, the figures
/// printed as Markdown (and appended to docs/benchmarks.md with --record). With --baseline-root, the same sweep first
/// runs on the services built in another tree (deploy/bench.sh --baseline REF makes one), so two versions of the hub
/// are compared in one run of the harness on the same machine.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var rates = new Option<string>("--rates") { Description = "Referrals per second, comma-separated: a sweep.", DefaultValueFactory = _ => "200,400" };
        var runs = new Option<int>("--runs") { Description = "Measured runs per rate.", DefaultValueFactory = _ => 5 };
        var seconds = new Option<int>("--seconds") { Description = "How long each run sends.", DefaultValueFactory = _ => 15 };
        var warmUp = new Option<int>("--warm-up") { Description = "Seconds of load at the first rate before measuring.", DefaultValueFactory = _ => 60 };
        var subjects = new Option<int>("--subjects") { Description = "Distinct demo children with a recorded consent.", DefaultValueFactory = _ => 500 };
        var refused = new Option<double>("--refused") { Description = "Share of referrals about children without consent, which the gate refuses (1 for S5).", DefaultValueFactory = _ => 0.1 };
        var settle = new Option<int>("--settle") { Description = "Seconds each run may take to be received, acknowledged or refused after sending; what is missing then is lost.", DefaultValueFactory = _ => 120 };
        var baselineRoot = new Option<string?>("--baseline-root") { Description = "Another tree with a Release build: the same sweep on its services first." };
        var baselineLabel = new Option<string>("--baseline-label") { Description = "What to call the baseline in the tables.", DefaultValueFactory = _ => "baseline" };
        var label = new Option<string>("--label") { Description = "What to call this tree in the tables.", DefaultValueFactory = _ => "this tree" };
        var output = new Option<string?>("--output") { Description = "Also write the Markdown figures to this file." };
        var record = new Option<bool>("--record") { Description = "Append the figures, with date and command, to docs/benchmarks.md." };
        var backlog = new Option<string?>("--backlog") { Description = "S6 instead of the sweep: these services (comma-separated, e.g. consent,social-services) each stopped under load at the first rate, then started." };
        var stopSeconds = new Option<int>("--stop-seconds") { Description = "S6: how long the service stays stopped.", DefaultValueFactory = _ => 60 };
        var http = new Option<string>("--http")
        {
            Description = "How the client systems talk to the gateway: 2 (HTTP/2, many requests on one connection) or 1.1 (a connection per request in flight, up to 256).",
            DefaultValueFactory = _ => "2",
        };
        http.AcceptOnlyFromAmong("2", "1.1");
        var receiverWait = new Option<int>("--receiver-wait")
        {
            Description = "Seconds the receiver's listing of an empty inbox asks to wait for a message; 0 polls every 20 ms (as it does on a hub that answers at once).",
            DefaultValueFactory = _ => 5,
        };
        var acknowledgeEach = new Option<bool>("--acknowledge-each")
        {
            Description = "The receiver acknowledges one message per request (as on a hub without POST …/inbox/acknowledge) instead of a page at once.",
        };
        var afterSeconds = new Option<int>("--after-seconds") { Description = "S6: how long the load goes on after the service is started again.", DefaultValueFactory = _ => 120 };
        var command = new Command("bench", "Referrals end to end (submit, gate, inbox, fetch, acknowledge) through the gateway at a sweep of rates; latency, loss, CPU and memory per process.")
        {
            rates, runs, seconds, warmUp, subjects, refused, settle, baselineRoot, baselineLabel, label, output, record, backlog, stopSeconds, afterSeconds, http,
            receiverWait, acknowledgeEach,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new EndToEndOptions(
                [.. parseResult.GetValue(rates)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(r => double.Parse(r, CultureInfo.InvariantCulture))],
                parseResult.GetValue(runs), TimeSpan.FromSeconds(parseResult.GetValue(seconds)), TimeSpan.FromSeconds(parseResult.GetValue(warmUp)),
                parseResult.GetValue(subjects), Math.Clamp(parseResult.GetValue(refused), 0, 1), TimeSpan.FromSeconds(parseResult.GetValue(settle)));
            if (options.Rates.Count == 0 || options.Rates.Any(r => r <= 0) || options.Runs < 1 || options.Duration < TimeSpan.FromSeconds(4))
            {
                Console.Error.WriteLine("bench: --rates must be positive, --runs at least 1 and --seconds at least 4.");
                return 2;
            }

            var http2 = parseResult.GetValue(http) == "2";
            var wait = TimeSpan.FromSeconds(Math.Clamp(parseResult.GetValue(receiverWait), 0, 20));
            var many = !parseResult.GetValue(acknowledgeEach);
            var commandLine = CommandLine("bench", "deploy/bench.sh");
            string markdown;
            var failed = false;
            if (parseResult.GetValue(backlog) is { } stopped)
            {
                if (stopped.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is var names
                    && (names.Length == 0 || names.Any(name => !Hub.ServiceNames.Contains(name))))
                {
                    Console.Error.WriteLine($"bench: --backlog names services of {string.Join(", ", Hub.ServiceNames)}.");
                    return 2;
                }

                await using var hub = await StartHubAsync(null, cancellationToken);
                var benchmark = new EndToEndBenchmark(hub, DemoPki.Ensure(hub.PkiDir, hub.ClientIds), Console.Out, http2, wait, many);
                var results = new List<BacklogResult>();
                foreach (var service in stopped.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    results.Add(await benchmark.BacklogAsync(
                        new BacklogOptions(options.Rates[0], service, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(parseResult.GetValue(stopSeconds)),
                            TimeSpan.FromSeconds(parseResult.GetValue(afterSeconds)), options.WarmUp, options.Subjects, options.Settle),
                        cancellationToken));
                }

                markdown = EndToEndReport.RenderBacklog(commandLine, results);
                failed = results.Any(r => r.Lost > 0 || r.Accepted < r.Sent);
            }
            else
            {
                var sweeps = new List<EndToEndReport.Sweep>();
                if (parseResult.GetValue(baselineRoot) is { } baseline)
                {
                    sweeps.Add(await SweepAsync(parseResult.GetValue(baselineLabel)!, Path.GetFullPath(baseline), options, http2, wait, many, cancellationToken));
                }

                sweeps.Add(await SweepAsync(parseResult.GetValue(label)!, null, options, http2, wait, many, cancellationToken));
                var heading = options.RefusedShare >= 1 ? "S5: refused referrals" : $"S4: referrals end to end, {options.RefusedShare:P0} refused";
                markdown = EndToEndReport.Render(heading, commandLine, sweeps);
                failed = sweeps.Sum(s => s.Runs.Sum(r => r.Lost + (r.Sent - r.Accepted))) > 0;
            }

            await PrintAsync(markdown, parseResult.GetValue(output), parseResult.GetValue(record), cancellationToken);
            return failed ? 1 : 0;
        });
        return command;
    }

    /// <summary>The command as deploy/bench.sh was given it, for the figures' heading (the baseline's path left out).</summary>
    internal static string CommandLine(string command, string prefix) =>
        prefix + " " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != command).Skip(1)
            .Where(a => !a.StartsWith("--baseline-root", StringComparison.Ordinal)));

    /// <summary>Prints the figures, writes them to <paramref name="path"/>, and with <paramref name="record"/> appends them to docs/benchmarks.md.</summary>
    internal static async Task PrintAsync(string markdown, string? path, bool record, CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine(markdown);
        if (path is not null)
        {
            await File.WriteAllTextAsync(path, markdown, cancellationToken);
        }

        if (record)
        {
            var docs = Path.Combine(RepositoryLayout.Locate().Root, "docs", "benchmarks.md");
            await File.AppendAllTextAsync(docs, Environment.NewLine + markdown, cancellationToken);
            Console.WriteLine($"Appended to {docs}.");
        }
    }

    private static async Task<EndToEndReport.Sweep> SweepAsync(
        string tree, string? root, EndToEndOptions options, bool http2, TimeSpan receiverWait, bool acknowledgeMany, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== {tree}{(root is null ? "" : $" ({root})")}");
        await using var hub = await StartHubAsync(root, cancellationToken);
        var pki = DemoPki.Ensure(hub.PkiDir, hub.ClientIds);
        var benchmark = new EndToEndBenchmark(hub, pki, Console.Out, http2, receiverWait, acknowledgeMany);
        var results = await benchmark.RunAsync(options, cancellationToken);
        return new EndToEndReport.Sweep(tree, results, benchmark.IdleMemory, benchmark.MemoryByRate, benchmark.IdleCpu, benchmark.WarmIdleCpu, benchmark.PollingIdleCpu);
    }

    internal static Task<Hub> StartHubAsync(string? root, CancellationToken cancellationToken) =>
        Hub.StartAsync(
            new HubOptions
            {
                UseFreePorts = true,
                Nodes = HubNodes.Private,
                RepositoryRoot = root,
                Log = Console.WriteLine,
                ConfigureEnvironment = (process, environment) =>
                {
                    // For experiments with runtime settings, e.g. HUB_BENCH_ENV="DOTNET_gcServer=0;DOTNET_TieredPGO=0":
                    // every service and the gateway get them (docs/benchmarks.md records what was tried).
                    foreach (var variable in (Environment.GetEnvironmentVariable("HUB_BENCH_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var equals = variable.IndexOf('=', StringComparison.Ordinal);
                        environment[variable[..equals]] = variable[(equals + 1)..];
                    }

                    // The benchmark is one client at full speed: the per-client limit would measure itself, not the hub.
                    if (process == "gateway")
                    {
                        environment["Gateway__Limits__PermitsPerSecond"] = "100000";
                        environment["Gateway__Limits__Burst"] = "100000";
                        environment["Gateway__Limits__InFlightPerClient"] = "0";
                    }
                },
            },
            cancellationToken);
}
