namespace FamiljecentralHub.LocalHub.Processes;

/// <summary>
/// The Erlang port mapper daemon every RabbitMQ node and rabbitmqctl registers with. It is shared by all nodes on
/// the machine, so we start it only when none runs, and stop it only if we started it and no node needs it.
/// </summary>
internal static class Epmd
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    // Nodes of this process that hold epmd, so the last one to stop (not the first) ends an epmd we started.
    private static int holders;
    private static bool startedHere;

    /// <summary>True while an epmd that a node of this process started runs (this process will stop it when idle).</summary>
    public static bool StartedHere => Volatile.Read(ref startedHere);

    public static async Task<bool> IsRunningAsync(CancellationToken cancellationToken) =>
        (await ProcessRunner.RunAsync("epmd", ["-names"], timeout: TimeSpan.FromSeconds(10), cancellationToken: cancellationToken)).ExitCode == 0;

    /// <summary>Registers a node that needs epmd, starting it if none runs; true when this call started it.</summary>
    public static async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            holders++;
            if (await IsRunningAsync(cancellationToken))
            {
                return false;
            }
            await StartAsync(cancellationToken);
            startedHere = true;
            return true;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A node of this process no longer needs epmd; the last one stops it if this process started it.</summary>
    public static async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            holders = Math.Max(0, holders - 1);
            if (holders == 0 && startedHere)
            {
                startedHere = false;
                await StopIfIdleAsync(cancellationToken);
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Stops epmd. It refuses while any node is still registered, so a node someone else started (or another hub
    /// that shares this epmd) is never cut off.
    /// </summary>
    public static async Task StopIfIdleAsync(CancellationToken cancellationToken)
    {
        // A node killed a moment ago may still be registered until epmd notices its connection closed.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var result = await ProcessRunner.RunAsync("epmd", ["-kill"], timeout: TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
            if (!result.Output.Contains("living nodes", StringComparison.Ordinal))
            {
                return;
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    private static async Task StartAsync(CancellationToken cancellationToken)
    {
        // As the rabbitmq user (it needs no more) and on loopback only: nothing here is meant to be reachable
        // from other machines.
        await ProcessRunner.RunDaemonStarterAsync(
            "runuser",
            ["-u", "rabbitmq", "--", "epmd", "-daemon"],
            "/dev/null",
            new Dictionary<string, string> { ["ERL_EPMD_ADDRESS"] = "127.0.0.1" },
            TimeSpan.FromSeconds(10),
            cancellationToken);
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (await IsRunningAsync(cancellationToken))
            {
                return;
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new LocalHubException("epmd did not start.");
    }
}
