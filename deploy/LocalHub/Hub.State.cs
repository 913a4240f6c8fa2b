namespace FamiljecentralHub.LocalHub;

/// <summary>
/// The hub's state file (<see cref="HubState"/>): which nodes and processes it runs, rewritten on every start of one, so
/// that deploy/stop.sh or the next hub in the same directory can stop what a crashed run left behind.
/// </summary>
public sealed partial class Hub
{
    private static readonly SemaphoreSlim SweepGate = new(1, 1);
    private readonly Lock stateGate = new();

    private void SaveState()
    {
        lock (stateGate)
        {
            if (Volatile.Read(ref disposed) != 0 && !Directory.Exists(StateDir))
            {
                return;
            }
            var processes = AllInstances.Append(gateway)
                .Where(process => process?.Pid is not null)
                .Select(process => new ProcessState(process!.Name, process.Pid!.Value, process.DllPath))
                .ToList();
            (HubState.ForCurrentProcess() with
            {
                RabbitMqNodes = rabbitStarted
                    ? RabbitNodes.Select(node => new RabbitMqState(node.Directory!, node.AmqpPort, node.ManagementPort, node.DistributionPort, node.StartedEpmd)).ToList()
                    : [],
                Postgres = postgresStarted ? new PostgresState(Postgres.Directory!, Postgres.Port) : null,
                Processes = processes,
                DeleteOnStop = ownsStateDir ? [StateDir, nodesDir] : [],
            }).Write(StateDir);
        }
    }

    /// <summary>
    /// Auto-created instance directories whose owner died (a test run killed mid-way) still hold running nodes
    /// and services; the next hub stops them, so crashed runs do not pile up processes.
    /// </summary>
    private static async Task SweepAbandonedInstancesAsync(string instancesDir, Action<string>? log, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(instancesDir))
        {
            return;
        }
        // Fixtures of one test run start hubs concurrently; one sweep at a time.
        await SweepGate.WaitAsync(cancellationToken);
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(instancesDir))
            {
                if (HubState.Read(directory) is { OwnerIsAlive: false })
                {
                    log?.Invoke($"Cleaning up abandoned hub in {directory} ...");
                    await HubStateCleanup.StopAsync(directory, signalLiveOwner: false, log, cancellationToken);
                }
            }
        }
        finally
        {
            SweepGate.Release();
        }
    }
}
