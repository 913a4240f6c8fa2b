using System.Diagnostics.Metrics;
using System.Text.Json;
using FamiljecentralHub.ServiceDefaults.Telemetry;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// How often the messaging watchdog has restarted this service, and when last: the counter
/// <c>hub_messaging_watchdog_restarts_total</c> and the gauge <c>hub_messaging_watchdog_last_restart_time_seconds</c>.
/// A restart ends the process that counted it, so the count is kept in a small file (Watchdog:StatePath, one per
/// instance, writable by the service alone) that the watchdog writes just before it stops the process and the next
/// process reads at start: Ops's alert and Prometheus' rule then see the count go up and the time move, from the new
/// process. Without a path, the count lives only for the few seconds between the decision and the exit.
/// </summary>
public static class WatchdogRestarts
{
    private static readonly Lock Gate = new();
    private static long count;
    private static DateTimeOffset? last;
    private static string? path;

    static WatchdogRestarts()
    {
        TelemetryExtensions.Meter.CreateObservableCounter(HubMetrics.WatchdogRestarts, () => Interlocked.Read(ref count),
            description: "Times the messaging watchdog restarted this service (kept across the restarts in Watchdog:StatePath).");
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.WatchdogLastRestart, LastRestart, unit: "s",
            description: "When the messaging watchdog last restarted this service, Unix seconds.");
    }

    public static long Count => Interlocked.Read(ref count);

    public static DateTimeOffset? Last
    {
        get
        {
            lock (Gate)
            {
                return last;
            }
        }
    }

    /// <summary>Reads what an earlier process of this instance recorded; a missing or unreadable file is a count of none.</summary>
    public static void Load(string? statePath)
    {
        lock (Gate)
        {
            path = string.IsNullOrWhiteSpace(statePath) ? null : statePath;
            Interlocked.Exchange(ref count, 0);
            last = null;
            if (path is null || !File.Exists(path))
            {
                return;
            }

            try
            {
                var state = JsonSerializer.Deserialize<State>(File.ReadAllText(path));
                if (state is not null)
                {
                    Interlocked.Exchange(ref count, Math.Max(0, state.Restarts));
                    last = state.LastRestartAt;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                // A torn or unreadable file counts nothing; the next restart writes it afresh.
            }
        }
    }

    /// <summary>Counts a restart the watchdog is about to make and writes it down for the next process (best effort).</summary>
    public static void Record(DateTimeOffset at)
    {
        lock (Gate)
        {
            Interlocked.Increment(ref count);
            last = at;
            if (path is null)
            {
                return;
            }

            try
            {
                var temporary = path + ".tmp";
                File.WriteAllText(temporary, JsonSerializer.Serialize(new State(Interlocked.Read(ref count), at)));
                File.Move(temporary, path, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The restart goes ahead: a service that can send nothing is worse than a restart not counted.
            }
        }
    }

    private static IEnumerable<Measurement<double>> LastRestart()
    {
        if (Last is { } at)
        {
            yield return new Measurement<double>(at.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    private sealed record State(long Restarts, DateTimeOffset? LastRestartAt);
}
