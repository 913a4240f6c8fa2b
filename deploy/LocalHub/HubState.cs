using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// What a hub (or 'nodes') started, written to &lt;state&gt;/hub-state.json while it runs, so 'stop' in another
/// terminal, or the next start after a crash, can stop exactly those processes and nothing else.
/// </summary>
internal sealed record HubState
{
    public const string FileName = "hub-state.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The process holding the hub; null when nothing holds it (the nodes 'nodes' leaves running).</summary>
    public int? OwnerPid { get; init; }

    /// <summary>The owner's start time in clock ticks since boot, to tell it from a later process with the same id.</summary>
    public long? OwnerStartTime { get; init; }

    /// <summary>Every private RabbitMQ node started, node 1 of a cluster first.</summary>
    public IReadOnlyList<RabbitMqState> RabbitMqNodes { get; init; } = [];

    /// <summary>
    /// The single node, as builds before clusters recorded it; read so that their hubs can still be stopped, never written.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RabbitMqState? RabbitMq { get; init; }

    public PostgresState? Postgres { get; init; }

    public IReadOnlyList<ProcessState> Processes { get; init; } = [];

    /// <summary>Directories to delete once everything is stopped.</summary>
    public IReadOnlyList<string> DeleteOnStop { get; init; } = [];

    public static HubState ForCurrentProcess() =>
        new() { OwnerPid = Environment.ProcessId, OwnerStartTime = UnixProcess.StartTime(Environment.ProcessId) };

    [JsonIgnore]
    public bool OwnerIsAlive =>
        OwnerPid is { } pid && UnixProcess.IsAlive(pid) && UnixProcess.StartTime(pid) == OwnerStartTime;

    public static string PathIn(string stateDir) => Path.Combine(stateDir, FileName);

    public static HubState? Read(string stateDir)
    {
        try
        {
            return JsonSerializer.Deserialize<HubState>(File.ReadAllText(PathIn(stateDir)), Json);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (JsonException)
        {
            // A state file cut short by a crash: nothing in it can be trusted, so nothing is stopped.
            return null;
        }
    }

    public void Write(string stateDir)
    {
        // Write then rename, so a reader never sees half a file.
        var path = PathIn(stateDir);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public static void Delete(string stateDir)
    {
        if (Directory.Exists(stateDir))
        {
            File.Delete(PathIn(stateDir));
        }
    }
}

internal sealed record RabbitMqState(string Directory, int AmqpPort, int ManagementPort, int DistributionPort, bool StartedEpmd)
{
    public RabbitMqNode ToNode()
    {
        var node = RabbitMqNode.Private(Directory, AmqpPort, ManagementPort, DistributionPort);
        node.StartedEpmd = StartedEpmd;
        return node;
    }
}

internal sealed record PostgresState(string Directory, int Port)
{
    public PostgresNode ToNode() => PostgresNode.Private(Directory, Port);
}

internal sealed record ProcessState(string Name, int Pid, string DllPath);

/// <summary>Stops what a state file records.</summary>
internal static class HubStateCleanup
{
    /// <summary>
    /// Stops everything recorded in <paramref name="stateDir"/>. A live owner is asked to stop first (SIGTERM,
    /// which 'run' handles by stopping in order); whatever is still recorded after that is stopped directly.
    /// Returns false when there was nothing to stop.
    /// </summary>
    public static async Task<bool> StopAsync(string stateDir, bool signalLiveOwner, Action<string>? log, CancellationToken cancellationToken)
    {
        var state = HubState.Read(stateDir);
        if (state is null)
        {
            return false;
        }
        if (state.OwnerIsAlive && state.OwnerPid != Environment.ProcessId)
        {
            if (!signalLiveOwner)
            {
                throw new LocalHubException(
                    $"A hub in {stateDir} is running in process {state.OwnerPid}. Stop it first (deploy/stop.sh).");
            }
            log?.Invoke($"Asking process {state.OwnerPid} to stop its hub ...");
            // The owner needs up to about 30 s to stop services and nodes in order.
            await UnixProcess.TerminateAsync(state.OwnerPid!.Value, TimeSpan.FromSeconds(90), cancellationToken);
            state = HubState.Read(stateDir);
            if (state is null)
            {
                return true;
            }
        }

        await Task.WhenAll(state.Processes.Select(async process =>
        {
            // Only if the id still belongs to that service: after a reboot or a long time it may be someone else's.
            if (UnixProcess.IsAlive(process.Pid) && UnixProcess.CommandLine(process.Pid).Contains(process.DllPath, StringComparison.Ordinal))
            {
                log?.Invoke($"Stopping {process.Name} (pid {process.Pid}) ...");
                await UnixProcess.TerminateAsync(process.Pid, TimeSpan.FromSeconds(10), cancellationToken);
            }
        }));

        // Nodes whose data is deleted next are killed: a graceful stop (5-8 s for RabbitMQ) would protect nothing.
        bool Discarded(string directory) => state.DeleteOnStop.Any(deleted => IsWithin(directory, deleted));
        var nodes = new List<Task>();
        var rabbitNodes = state.RabbitMqNodes.Concat(state.RabbitMq is { } legacy ? [legacy] : [])
            .Where(rabbit => Directory.Exists(rabbit.Directory))
            .ToList();
        if (rabbitNodes.Count > 0)
        {
            log?.Invoke($"Stopping RabbitMQ {(rabbitNodes.Count == 1 ? "node" : "nodes")} {string.Join(", ", rabbitNodes.Select(rabbit => $"hub-{rabbit.AmqpPort}@localhost"))} ...");
            // One cluster: its nodes stop together (and epmd after the last), all kept or all discarded.
            var cluster = new RabbitMqCluster(rabbitNodes.Select(rabbit => rabbit.ToNode()).ToList());
            nodes.Add(Discarded(rabbitNodes[0].Directory) ? cluster.DiscardAsync(cancellationToken) : cluster.StopAsync(cancellationToken));
        }
        if (state.Postgres is { } postgres && Directory.Exists(postgres.Directory))
        {
            log?.Invoke($"Stopping PostgreSQL on port {postgres.Port} ...");
            var node = postgres.ToNode();
            nodes.Add(Discarded(postgres.Directory) ? node.KillAsync(cancellationToken) : node.StopAsync(cancellationToken));
        }
        await Task.WhenAll(nodes);

        HubState.Delete(stateDir);
        foreach (var directory in state.DeleteOnStop)
        {
            UnixFiles.DeleteDirectory(directory);
        }
        return true;
    }

    private static bool IsWithin(string path, string directory)
    {
        var relative = Path.GetRelativePath(directory, path);
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }
}
