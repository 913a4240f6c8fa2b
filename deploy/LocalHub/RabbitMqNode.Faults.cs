using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// The faults the fault suite injects into a private node: a crash, a hang, a stopped application, a memory alarm. Each
/// acts on the real process or through rabbitmqctl, never on a stand-in.
/// </summary>
public sealed partial class RabbitMqNode
{
    /// <summary>Stops the RabbitMQ application but leaves the VM running: clients see a broker that refuses connections.</summary>
    public Task StopAppAsync(CancellationToken cancellationToken = default)
    {
        RequireOwned();
        return CtlAsync(["stop_app"], cancellationToken);
    }

    public async Task StartAppAsync(CancellationToken cancellationToken = default)
    {
        RequireOwned();
        await CtlAsync(["start_app"], cancellationToken);
        await CtlAsync(["await_startup", "--timeout", "120"], cancellationToken);
    }

    /// <summary>SIGKILL the VM: a crash with no chance to flush or close connections. Start it again with <see cref="StartAsync"/>.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        RequireOwned();
        if (BeamPid is not { } pid)
        {
            return;
        }
        var children = UnixProcess.Children(pid);
        UnixProcess.Signal(pid, UnixProcess.SigKill);
        foreach (var child in children)
        {
            UnixProcess.Signal(child, UnixProcess.SigKill);
        }
        await UnixProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(10), cancellationToken);
        File.Delete(PidFile);
    }

    /// <summary>
    /// SIGSTOP the VM: connections stay open but nothing answers, like a hung or partitioned broker.
    /// Returns once the VM is stopped.
    /// </summary>
    public Task FreezeAsync(CancellationToken cancellationToken = default) =>
        SignalBeamAsync(UnixProcess.SigStop, state => state == 'T', cancellationToken);

    /// <summary>SIGCONT a frozen VM; returns once it runs again.</summary>
    public Task ThawAsync(CancellationToken cancellationToken = default) =>
        SignalBeamAsync(UnixProcess.SigCont, state => state != 'T', cancellationToken);

    /// <summary>
    /// Raises (true) or clears the memory alarm by moving the high watermark below or back above what the node uses:
    /// while it is raised the broker blocks every publishing connection, the way a broker short of memory does.
    /// </summary>
    public Task SetMemoryAlarmAsync(bool raised, CancellationToken cancellationToken = default)
    {
        RequireOwned();
        return CtlAsync(["set_vm_memory_high_watermark", raised ? "0.0001" : "0.4"], cancellationToken);
    }

    private async Task SignalBeamAsync(int signal, Func<char?, bool> reached, CancellationToken cancellationToken)
    {
        RequireOwned();
        if (BeamPid is not { } pid || !UnixProcess.Signal(pid, signal))
        {
            throw new LocalHubException($"RabbitMQ node {NodeName} is not running.");
        }
        // Signals reach a process with many threads asynchronously; fault tests need the new state in effect.
        for (var attempt = 0; attempt < 100 && !reached(UnixProcess.State(pid)); attempt++)
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
