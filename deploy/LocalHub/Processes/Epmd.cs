using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Processes;

/// <summary>
/// The Erlang port mapper daemon every RabbitMQ node and rabbitmqctl registers with. It is shared by all nodes on
/// the machine, so we start it only when none runs and stop it only if we started it.
/// </summary>
internal static class Epmd
{
    public static async Task<bool> IsRunningAsync(CancellationToken cancellationToken) =>
        (await ProcessRunner.RunAsync("epmd", ["-names"], timeout: TimeSpan.FromSeconds(10), cancellationToken: cancellationToken)).ExitCode == 0;

    /// <summary>Starts epmd if none is running; true when this call started it.</summary>
    public static async Task<bool> EnsureRunningAsync(CancellationToken cancellationToken)
    {
        if (await IsRunningAsync(cancellationToken))
        {
            return false;
        }
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
                return true;
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new LocalHubException("epmd did not start.");
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
}
