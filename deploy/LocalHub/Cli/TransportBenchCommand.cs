using System.CommandLine;
using System.Globalization;
using System.Text;
using FamiljecentralHub.LocalHub.Bench;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'bench-transport' (issue 16, S2): one private RabbitMQ node of its own, and on it the same message through
/// RabbitMQ.Client alone and through MassTransit at each in-flight count (<see cref="TransportBenchmark"/>). The node is
/// recorded in a state file like a hub's, so it is stopped however the run ends, and a run killed outright is cleaned
/// up by the next.
/// </summary>
internal static class TransportBenchCommand
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "Seconds measured per client and in-flight count.", DefaultValueFactory = _ => 10 };
        var warmUp = new Option<int>("--warm-up") { Description = "Seconds of the same load before measuring.", DefaultValueFactory = _ => 5 };
        var inFlight = new Option<string>("--inflight") { Description = "In-flight counts, comma-separated.", DefaultValueFactory = _ => "1,8,64" };
        var bodyBytes = new Option<int>("--body-bytes") { Description = "Size of the message as JSON (the bare client's body).", DefaultValueFactory = _ => 1024 };
        var untilConsumed = new Option<bool>("--until-consumed")
        {
            Description = "Each publisher also waits for its message to be consumed before the next (in flight = messages in the system; latency without a queue).",
        };
        var clients = new Option<string>("--clients")
        {
            Description = "Clients to run, comma-separated: rabbitmqclient, masstransit, masstransitwithhubfilters.",
            DefaultValueFactory = _ => string.Join(',', Enum.GetValues<TransportClient>()).ToLowerInvariant(),
        };
        var output = new Option<string?>("--output") { Description = "Also append the figures (markdown, with date, command and machine) to this file." };
        var command = new Command(
            "bench-transport",
            "Publish with confirms and consume with acknowledgements on a quorum queue through RabbitMQ.Client and through MassTransit, and print rate, latency and CPU per message.")
        {
            seconds, warmUp, inFlight, bodyBytes, untilConsumed, clients, output,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (PrivateNodes.Unavailable is { } reason)
            {
                Console.Error.WriteLine(reason);
                return 2;
            }
            var chosen = new List<TransportClient>();
            foreach (var name in parseResult.GetValue(clients)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Enum.TryParse<TransportClient>(name, ignoreCase: true, out var client) || !Enum.IsDefined(client))
                {
                    Console.Error.WriteLine("--clients lists rabbitmqclient, masstransit and masstransitwithhubfilters, comma-separated.");
                    return 2;
                }
                chosen.Add(client);
            }
            int[] counts;
            try
            {
                counts = [.. parseResult.GetValue(inFlight)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(count => int.Parse(count, CultureInfo.InvariantCulture))];
            }
            catch (FormatException)
            {
                Console.Error.WriteLine("--inflight is a comma-separated list of whole numbers, e.g. 1,8,64.");
                return 2;
            }
            if (chosen.Count == 0 || counts.Length == 0 || counts.Any(count => count is < 1 or > 1000) || parseResult.GetValue(seconds) < 1 || parseResult.GetValue(warmUp) < 0
                || parseResult.GetValue(bodyBytes) is < 256 or > 1_000_000)
            {
                Console.Error.WriteLine("--inflight counts from 1 to 1000, --seconds at least 1, --warm-up at least 0, --body-bytes from 256 to 1000000.");
                return 2;
            }

            var machine = Machine();
            var stateDir = CommonOptions.Resolve(null, Path.Combine(".hub", "bench-transport"));
            await HubStateCleanup.StopAsync(stateDir, signalLiveOwner: false, Console.WriteLine, cancellationToken);
            Directory.CreateDirectory(stateDir);
            var nodeDir = Path.Combine(UnixFiles.NodesDirectoryFor(stateDir), "rabbitmq");
            UnixFiles.DeleteDirectory(nodeDir);
            var node = RabbitMqNode.Private(nodeDir, FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
            HubState Record() => HubState.ForCurrentProcess() with
            {
                RabbitMqNodes = [new RabbitMqState(nodeDir, node.AmqpPort, node.ManagementPort, node.DistributionPort, node.StartedEpmd)],
                DeleteOnStop = [nodeDir],
            };
            // Recorded before starting, so a start that fails half-way is still stopped.
            Record().Write(stateDir);
            try
            {
                Console.WriteLine($"Starting RabbitMQ {node.NodeName} ...");
                await node.StartAsync(cancellationToken);
                Record().Write(stateDir);
                var version = (await node.GetManagementAsync("overview", cancellationToken)).GetProperty("rabbitmq_version").GetString();
                var bench = new TransportBenchmark(
                    new BrokerTarget(node.Host, node.AmqpPort, "/", node.AdminUser, node.AdminPassword), () => node.BeamPid, Console.Out);
                var results = new List<TransportResult>();
                foreach (var count in counts)
                {
                    foreach (var client in chosen)
                    {
                        results.Add(await bench.RunAsync(
                            client, count, TimeSpan.FromSeconds(parseResult.GetValue(warmUp)), TimeSpan.FromSeconds(parseResult.GetValue(seconds)),
                            parseResult.GetValue(bodyBytes), cancellationToken, parseResult.GetValue(untilConsumed)));
                    }
                }

                var loop = parseResult.GetValue(untilConsumed) ? "its message to be consumed" : "the broker's confirm only";
                var report = new StringBuilder()
                    .AppendLine(CultureInfo.InvariantCulture, $"Run {machine.Started:yyyy-MM-dd HH:mm} UTC, `{machine.Command}`: {machine.Cpus} CPUs, load average at start {machine.Load}; "
                        + $"RabbitMQ {version}, one node, a quorum queue per run, persistent messages of {parseResult.GetValue(bodyBytes)} bytes as JSON, "
                        + $"{parseResult.GetValue(warmUp)} s warm-up, {parseResult.GetValue(seconds)} s measured per row, each publisher waiting for {loop}.")
                    .AppendLine()
                    .AppendLine(TransportResult.Header);
                foreach (var result in results)
                {
                    report.AppendLine(result.Row());
                }
                Console.WriteLine();
                Console.Write(report);
                if (parseResult.GetValue(output) is { } path)
                {
                    await File.AppendAllTextAsync(path, Environment.NewLine + report, cancellationToken);
                }
                return results.All(result => result.ExactlyOnce) ? 0 : 1;
            }
            finally
            {
                await HubStateCleanup.StopAsync(stateDir, signalLiveOwner: false, Console.WriteLine, CancellationToken.None);
            }
        });
        return command;
    }

    private sealed record MachineFacts(DateTime Started, string Command, int Cpus, string Load);

    private static MachineFacts Machine()
    {
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
        return new(DateTime.UtcNow, "localhub " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), Environment.ProcessorCount, load);
    }
}
