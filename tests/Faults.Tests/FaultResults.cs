using System.Globalization;
using System.Text;

[assembly: AssemblyFixture(typeof(FamiljecentralHub.Faults.Tests.FaultResults))]

// Faults are injected into whole hubs on a two-core machine: one at a time, or they would measure each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace FamiljecentralHub.Faults.Tests;

/// <summary>
/// Collects every fault run's counts and writes them as a table to .hub/fault-results.md, whole run or part. A test
/// run never changes a tracked file: docs/fault-results.md is a dated copy of a whole run, taken by hand.
/// </summary>
public sealed class FaultResults : IAsyncLifetime
{
    /// <summary>Every fault the suite injects, in the table's order.</summary>
    public static readonly string[] Faults =
    [
        Fault.BrokerStopApp,
        Fault.BrokerKilled,
        Fault.BrokerFrozen,
        Fault.SenderKilled,
        Fault.GateKilled,
        Fault.ReceiverKilled,
        Fault.DatabaseStopped,
        Fault.ClusterLeaderKilled,
        Fault.TwoInstancesEach,
    ];

    private readonly List<FaultResult> results = [];

    public void Add(FaultResult result)
    {
        lock (results)
        {
            results.Add(result);
        }
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (results.Count == 0)
        {
            return;
        }

        var root = RepositoryRoot();
        var path = Path.Combine(root, ".hub", "fault-results.md");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, ToMarkdown());
    }

    public string ToMarkdown()
    {
        var table = new StringBuilder();
        table.AppendLine("# Fault-injection results")
            .AppendLine()
            .AppendLine("Written by the fault suite (`deploy/faults.sh`, also part of `deploy/test.sh`) to .hub/fault-results.md; docs keep a dated copy of a whole run.")
            .AppendLine(CultureInfo.InvariantCulture, $"Last run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; referrals at {FaultRun.Rate}/s, one in ten about a child without consent (refused by the gate, as are referrals after a revocation).")
            .AppendLine("See docs/fault-injection.md for what each column means and how it is counted.")
            .AppendLine()
            .AppendLine("| Fault | Sent | Accepted | Refused | Delivered | Lost | Duplicated | Leaked | Not decided exactly once | Still queued at the end | Services restarted after stopping themselves | Attempts turned away (retried) | Time to recover |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results.OrderBy(r => Array.IndexOf(Faults, r.Fault)))
        {
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Fault} | {r.Sent} | {r.Accepted} | {r.Refused} | {r.Delivered} | {r.Lost} | {r.Duplicated} | {r.Leaked} | {r.NotDecidedOnce} | {r.StillQueued} | {r.SelfRestarts} | {r.RejectedAttempts} | {r.Recovery.TotalSeconds:0.0} s |");
        }

        return table.ToString();
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FamiljecentralHub.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("FamiljecentralHub.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The faults' names as the table shows them; each test names its own.</summary>
public static class Fault
{
    public const string BrokerStopApp = "Broker stop_app, start_app";
    public const string BrokerKilled = "Broker SIGKILL, restarted";
    public const string BrokerFrozen = "Broker frozen (SIGSTOP), thawed";
    public const string SenderKilled = "Sending service (child-health) SIGKILL, restarted";
    public const string GateKilled = "Gate (consent) SIGKILL, restarted";
    public const string ReceiverKilled = "Receiving service (social-services) SIGKILL, restarted";
    public const string DatabaseStopped = "PostgreSQL stopped, started";
    public const string ClusterLeaderKilled = "3-node cluster: queue leader node SIGKILL, restarted";
    public const string TwoInstancesEach = "Two instances of every service: one of each killed, consents revoked mid-stream";
}
