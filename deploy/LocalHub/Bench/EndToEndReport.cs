using System.Globalization;
using System.Text;

namespace FamiljecentralHub.LocalHub.Bench;

/// <summary>The figures of one <see cref="EndToEndBenchmark"/> sweep (or of two trees side by side) as Markdown.</summary>
internal static class EndToEndReport
{
    public sealed record Sweep(string Tree, IReadOnlyList<RunResult> Runs, IReadOnlyDictionary<string, double> IdleMemory,
        IReadOnlyDictionary<double, Dictionary<string, double>> MemoryByRate, IReadOnlyDictionary<string, double> IdleCpu,
        IReadOnlyDictionary<string, double> WarmIdleCpu, IReadOnlyDictionary<string, double> PollingIdleCpu);

    public static string Render(string heading, string command, IReadOnlyList<Sweep> sweeps)
    {
        var text = new StringBuilder();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
        text.AppendLine(CultureInfo.InvariantCulture, $"### {heading}");
        Line(text, "");
        text.AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, `{command}`, {Environment.ProcessorCount} cores, load average {string.Join(" ", load)} at the end.");
        Line(text, "Latencies in ms from each referral's scheduled send time: p50 / p95 / p99 as the median over the runs, with the");
        Line(text, "runs' range of p99 in brackets. Offered: the rate the load generator issued requests at. CPU in ms per referral");
        Line(text, "completed (acknowledged or refused) inside the sending window, summed per process from /proc over that window (hub and");
        Line(text, "load generator), the runs' median with their range, and the machine's busy time beside it; the machine's context");
        Line(text, "switches per referral completed (/proc/stat), the median of the runs.");
        Line(text, "");
        Line(text, "| tree | rate /s | runs | offered /s | accepted | acknowledged / permitted | refused | lost | submit (202) p99 | received p50 / p95 / p99 | acknowledged p99 | refusal decided p99 | CPU per referral | machine | context switches |");
        Line(text, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var sweep in sweeps)
        {
            foreach (var point in sweep.Runs.GroupBy(r => r.Rate))
            {
                var runs = point.ToList();
                var hubCpu = runs.Select(HubCpu).ToList();
                text.AppendLine(CultureInfo.InvariantCulture, $"| {sweep.Tree} | {point.Key:0} | {runs.Count} | {Median(runs.Select(r => r.Offered)):0.0} | {runs.Sum(r => r.Accepted)} of {runs.Sum(r => r.Sent)} "
                    + $"| {runs.Sum(r => r.Acknowledged)} / {runs.Sum(r => r.Permitted)} | {runs.Sum(r => r.Refused)} | {runs.Sum(r => r.Lost)} "
                    + $"| {Median(runs.Select(r => r.SubmitLatency.P99)):0.0} "
                    + $"| {Median(runs.Select(r => r.SeenLatency.P50)):0.0} / {Median(runs.Select(r => r.SeenLatency.P95)):0.0} / {Median(runs.Select(r => r.SeenLatency.P99)):0.0} [{Range(runs.Select(r => r.SeenLatency.P99))}] "
                    + $"| {Median(runs.Select(r => r.AcknowledgedLatency.P99)):0.0} | {Median(runs.Select(r => r.DecidedLatency.P99)):0.0} "
                    + $"| {Median(hubCpu):0.00} [{Range(hubCpu, "0.00")}] | {Median(runs.Select(r => r.CpuPerReferral[ProcessCpu.Machine])):0.00} | {Median(runs.Select(r => r.SwitchesPerReferral)):0} |");
            }
        }

        Line(text, "");
        Line(text, "CPU ms per referral by process (median of the runs):");
        Line(text, "");
        var columns = sweeps.SelectMany(s => s.Runs.Select(r => r.Rate).Distinct().Select(rate => (s.Tree, Rate: rate))).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"| process | {string.Join(" | ", columns.Select(c => sweeps.Count > 1 ? $"{c.Tree} {c.Rate:0}/s" : $"{c.Rate:0}/s"))} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Concat(columns.Select(_ => "---|"))}");
        var processes = sweeps.SelectMany(s => s.Runs).SelectMany(r => r.CpuPerReferral.Keys).Distinct()
            .OrderByDescending(name => name == ProcessCpu.Machine ? -1 : sweeps.SelectMany(s => s.Runs).Average(r => r.CpuPerReferral.GetValueOrDefault(name)));
        foreach (var process in processes)
        {
            var cells = columns.Select(c => Median(sweeps.Single(s => s.Tree == c.Tree).Runs.Where(r => r.Rate == c.Rate).Select(r => r.CpuPerReferral.GetValueOrDefault(process))));
            text.AppendLine(CultureInfo.InvariantCulture, $"| {process} | {string.Join(" | ", cells.Select(v => v.ToString("0.00", CultureInfo.InvariantCulture)))} |");
        }

        Line(text, "");
        Line(text, "CPU at idle (ms per second; work that does not scale with messages), before the warm-up (a fresh hub, compiling) and after it (warm), the receiver not listing, and listing its empty inbox as in the runs (waiting for a message where the hub lets it, else every 20 ms):");
        Line(text, "");
        text.AppendLine(CultureInfo.InvariantCulture, $"| process | {string.Join(" | ", sweeps.Select(s => $"{s.Tree}, fresh | {s.Tree}, warm | {s.Tree}, warm, receiver listing"))} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Concat(sweeps.Select(_ => "---|---|---|"))}");
        foreach (var process in sweeps.SelectMany(s => s.IdleCpu.Keys).Distinct().OrderByDescending(p => p == ProcessCpu.Machine ? -1 : sweeps.Average(s => s.IdleCpu.GetValueOrDefault(p))))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {process} | {string.Join(" | ", sweeps.Select(s => $"{s.IdleCpu.GetValueOrDefault(process).ToString("0.0", CultureInfo.InvariantCulture)} | {s.WarmIdleCpu.GetValueOrDefault(process).ToString("0.0", CultureInfo.InvariantCulture)} | {s.PollingIdleCpu.GetValueOrDefault(process).ToString("0.0", CultureInfo.InvariantCulture)}"))} |");
        }

        Line(text, "");
        Line(text, "Memory (MiB) at idle and after each rate's last run: a process's resident set; for PostgreSQL and RabbitMQ, their processes' proportional set sizes summed;");
        Line(text, "\"PSS\": a process's proportional set (the pages it shares with others, the .NET framework's above all, divided among them);");
        Line(text, "\"GC heap\": a .NET process's objects as its last garbage collection left them (all instances of a service summed):");
        Line(text, "");
        var memoryColumns = sweeps.SelectMany(s => new[] { (s.Tree, Label: "idle", Memory: (IReadOnlyDictionary<string, double>)s.IdleMemory) }
            .Concat(s.MemoryByRate.Select(m => (s.Tree, Label: $"{m.Key:0}/s", Memory: (IReadOnlyDictionary<string, double>)m.Value)))).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"| process | {string.Join(" | ", memoryColumns.Select(c => sweeps.Count > 1 ? $"{c.Tree} {c.Label}" : c.Label))} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Concat(memoryColumns.Select(_ => "---|"))}");
        foreach (var process in memoryColumns.SelectMany(c => c.Memory.Keys).Distinct().Order(StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {process} | {string.Join(" | ", memoryColumns.Select(c => c.Memory.GetValueOrDefault(process).ToString("0", CultureInfo.InvariantCulture)))} |");
        }

        return text.ToString();
    }

    public static string RenderBacklog(string command, IReadOnlyList<BacklogResult> results)
    {
        var text = new StringBuilder();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
        Line(text, "### S6: a backlog drained");
        Line(text, "");
        text.AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, `{command}`, {Environment.ProcessorCount} cores, load average {string.Join(" ", load)} at the end.");
        Line(text, "All referrals permitted. Received: latency (ms) from the scheduled send time to the receiver's listing, p50 / p99, for");
        Line(text, "messages sent before the stop, sent while the backlog drained, and sent after it was empty.");
        Line(text, "");
        Line(text, "| stopped | rate /s | for | accepted | acknowledged | lost | backlog at start | ready after | empty after | drain rate | drain ÷ arrival | before p50 / p99 | during drain p50 / p99 | after p50 / p99 |");
        Line(text, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Options.Service} | {r.Options.Rate:0} | {r.Options.Stopped.TotalSeconds:0} s | {r.Accepted} of {r.Sent} | {r.Acknowledged} | {r.Lost} | {r.PeakBacklog} "
                + $"| {r.StartSeconds:0.0} s | {(r.EmptySeconds is { } empty ? $"{empty:0.0} s" : "never")} | {r.DrainRate:0}/s | {r.DrainRate / r.Options.Rate:0.0}× "
                + $"| {r.BeforeStop.P50:0} / {r.BeforeStop.P99:0} | {r.DuringDrain.P50:0} / {r.DuringDrain.P99:0} | {r.AfterDrain.P50:0} / {r.AfterDrain.P99:0} |");
        }

        Line(text, "");
        Line(text, "Memory (MiB) during the drain (a process's resident set, and its proportional set as \"PSS\"; PostgreSQL's and RabbitMQ's proportional set sizes summed; a .NET");
        Line(text, "process's GC heap as its last collection left it):");
        Line(text, "");
        var processes = results.SelectMany(r => r.MemoryDuringDrain.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"| stopped | {string.Join(" | ", processes)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Concat(processes.Select(_ => "---|"))}");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Options.Service} | {string.Join(" | ", processes.Select(p => r.MemoryDuringDrain.GetValueOrDefault(p).ToString("0", CultureInfo.InvariantCulture)))} |");
        }

        return text.ToString();
    }

    public static double HubCpu(RunResult run) => run.CpuPerReferral.Where(p => p.Key != ProcessCpu.Machine).Sum(p => p.Value);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Range(IEnumerable<double> values, string format = "0.0")
    {
        var list = values.Where(v => !double.IsNaN(v)).ToList();
        return list.Count == 0 ? "–" : $"{list.Min().ToString(format, CultureInfo.InvariantCulture)}–{list.Max().ToString(format, CultureInfo.InvariantCulture)}";
    }

    private static void Line(StringBuilder text, string line) => text.AppendLine(line);
}
