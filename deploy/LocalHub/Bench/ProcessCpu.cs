using System.Globalization;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.ServiceDefaults.Tls;

namespace FamiljecentralHub.LocalHub.Bench;

/// <summary>
/// CPU time and resident memory of one hub's processes, read from /proc, grouped by process (each service, the
/// gateway, RabbitMQ with its helpers, PostgreSQL with its backends, and this load generator), with the machine's
/// busy time beside them so the sum can be checked against the whole.
/// </summary>
internal sealed class ProcessCpu(Hub hub)
{
    // USER_HZ: the unit of proc(5)'s utime and stime, 100 on every Linux architecture .NET runs on.
    private const double MillisecondsPerTick = 10;
    public const string Machine = "machine";
    public const string LoadGenerator = "load generator";

    /// <summary>Ticks by (pid, start time) with the process's group, and the machine's busy ticks.</summary>
    public sealed record Snapshot(IReadOnlyDictionary<(int Pid, long Start), (string Group, long Ticks)> Processes, long MachineTicks, long MachineSwitches)
    {
        /// <summary>When it was taken (a Stopwatch timestamp).</summary>
        public long At { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    public Snapshot Take()
    {
        var processes = new Dictionary<(int, long), (string, long)>();
        foreach (var (group, pid) in Members())
        {
            if (ReadTicks(pid) is { } stat)
            {
                processes[(pid, stat.Start)] = (group, stat.Ticks);
            }
        }

        return new Snapshot(processes, MachineBusyTicks(), MachineContextSwitches());
    }

    /// <summary>
    /// CPU milliseconds per group between two snapshots. A process born in between (a new PostgreSQL backend) counts
    /// from zero; one that ended in between is lost, which the machine total beside the sum shows.
    /// </summary>
    public static Dictionary<string, double> Between(Snapshot first, Snapshot last)
    {
        var used = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, (group, ticks)) in last.Processes)
        {
            var before = first.Processes.TryGetValue(key, out var earlier) ? earlier.Ticks : 0;
            used[group] = used.GetValueOrDefault(group) + (ticks - before) * MillisecondsPerTick;
        }

        used[Machine] = (last.MachineTicks - first.MachineTicks) * MillisecondsPerTick;
        return used;
    }

    /// <summary>
    /// The machine's context switches between two snapshots (/proc/stat's ctxt). On a virtual machine every switch and
    /// the wake-up behind it costs far more than on bare metal, so this counts the hops a referral's CPU goes into.
    /// </summary>
    public static long SwitchesBetween(Snapshot first, Snapshot last) => last.MachineSwitches - first.MachineSwitches;

    /// <summary>
    /// Memory per group in MiB: a single process's resident set (VmRSS), and for a group of processes (PostgreSQL's
    /// backends, RabbitMQ's helpers) their proportional set sizes summed, since each backend's RSS counts the shared
    /// buffers it touched again.
    /// </summary>
    public Dictionary<string, double> ResidentMemory()
    {
        var members = Members().ToLookup(m => m.Group, m => m.Pid);
        return members.ToDictionary(
            group => group.Key,
            group => (group.Count() == 1 ? MemoryKiB(group.Single(), "status", "VmRSS:") : group.Sum(pid => MemoryKiB(pid, "smaps_rollup", "Pss:"))) / 1024.0,
            StringComparer.Ordinal);
    }

    /// <summary>
    /// <see cref="ResidentMemory"/>, a lone process's proportional set beside its resident set (under "&lt;process&gt;, PSS"),
    /// and, for each .NET process, its GC heap as its last collection left it (the runtime's
    /// <c>dotnet.gc.last_collection.heap.size</c> from the service's <c>/metrics</c>, every generation, all instances
    /// summed), under "&lt;process&gt;, GC heap": what of the resident set is the application's objects and what is the
    /// runtime, its code and the collector's slack.
    /// </summary>
    public async Task<Dictionary<string, double>> MemoryAsync(CancellationToken cancellationToken)
    {
        var memory = ResidentMemory();
        // A lone process's resident set counts the shared framework's pages that every .NET process of the hub maps; its
        // proportional set shares them out, so the rows of one kind sum to what the machine holds.
        foreach (var group in Members().GroupBy(m => m.Group).Where(g => g.Count() == 1))
        {
            memory[$"{group.Key}, PSS"] = MemoryKiB(group.Single().Pid, "smaps_rollup", "Pss:") / 1024.0;
        }

        memory[$"{LoadGenerator}, GC heap"] = GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0;
        using var handler = InternalTls.CreateHandler(InternalTls.LoadAuthorities(hub.InternalCaCertificatePath), clientCertificate: null);
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        var sources = Hub.ServiceNames
            .SelectMany(service => hub.Instances(service).Select((_, i) => (Group: service, Url: hub.ServiceUrl(service, i + 1))))
            .Append((Group: "gateway", Url: hub.GatewayHealthUrl));
        foreach (var (group, url) in sources)
        {
            if (await GcHeapBytesAsync(client, new Uri(url, "/metrics"), cancellationToken) is { } bytes)
            {
                memory[$"{group}, GC heap"] = memory.GetValueOrDefault($"{group}, GC heap") + bytes / 1048576.0;
            }
        }

        return memory;
    }

    private static async Task<double?> GcHeapBytesAsync(HttpClient client, Uri metrics, CancellationToken cancellationToken)
    {
        const string Name = "dotnet_gc_last_collection_heap_size_bytes{";
        try
        {
            var lines = (await client.GetStringAsync(metrics, cancellationToken)).Split('\n');
            var values = lines.Where(line => line.StartsWith(Name, StringComparison.Ordinal))
                .Select(line => double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture))
                .ToList();
            return values.Count == 0 ? null : values.Sum();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
        {
            return null; // a service restarting: its row stays empty rather than the run failing
        }
    }

    private IEnumerable<(string Group, int Pid)> Members()
    {
        yield return (LoadGenerator, Environment.ProcessId);
        if (hub.Gateway.Pid is { } gateway)
        {
            yield return ("gateway", gateway);
        }

        foreach (var service in Hub.ServiceNames)
        {
            foreach (var instance in hub.Instances(service))
            {
                if (instance.Pid is { } pid)
                {
                    yield return (service, pid);
                }
            }
        }

        foreach (var node in hub.RabbitNodes)
        {
            if (node.BeamPid is { } beam)
            {
                // The VM and its port helpers (erl_child_setup, inet_gethost).
                foreach (var pid in WithDescendants(beam))
                {
                    yield return ("RabbitMQ", pid);
                }
            }
        }

        if (hub.Postgres.PostmasterPid is { } postmaster)
        {
            foreach (var pid in WithDescendants(postmaster))
            {
                yield return ("PostgreSQL", pid);
            }
        }
    }

    private static IEnumerable<int> WithDescendants(int pid)
    {
        yield return pid;
        foreach (var child in UnixProcess.Children(pid))
        {
            foreach (var descendant in WithDescendants(child))
            {
                yield return descendant;
            }
        }
    }

    /// <summary>CPU time of one process (utime + stime, every thread); null when it is gone.</summary>
    public static TimeSpan? CpuTime(int pid) =>
        ReadTicks(pid) is { } stat ? TimeSpan.FromMilliseconds(stat.Ticks * MillisecondsPerTick) : null;

    private static (long Ticks, long Start)? ReadTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14, 15 and 22 of proc(5): utime, stime, start time.
            return (long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture),
                long.Parse(rest[19], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static long MachineBusyTicks()
    {
        // user nice system irq softirq steal: everything but idle and iowait.
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new[] { 1, 2, 3, 6, 7, 8 }.Sum(i => long.Parse(cpu[i], CultureInfo.InvariantCulture));
    }

    private static long MachineContextSwitches() =>
        long.Parse(File.ReadLines("/proc/stat").First(l => l.StartsWith("ctxt ", StringComparison.Ordinal))[5..], CultureInfo.InvariantCulture);

    private static long MemoryKiB(int pid, string file, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/{file}").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
