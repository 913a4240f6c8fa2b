using System.Diagnostics.Metrics;
using FamiljecentralHub.ServiceDefaults.Telemetry;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>
/// The result of the checkpointer's check at each tick (the chain still holds the head it signed last), as metrics:
/// <c>hub_ledger_verified</c> 1 or 0, when it was checked, and the newest checkpoint's seq. Ops raises
/// "ledger-verification-failed" on a 0 (docs/alerts.md); the full verification is still <c>verify-ledger</c>.
/// Nothing is reported before the first check (an empty ledger has nothing to hold).
/// </summary>
public static class LedgerVerificationState
{
    private static readonly Lock Gate = new();
    private static (bool Held, DateTimeOffset At, long Seq)? last;

    static LedgerVerificationState()
    {
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.LedgerVerified, () => Read(s => s.Held ? 1 : 0),
            description: "1 when the ledger held the head of its newest signed checkpoint at the last check, 0 when it did not.");
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.LedgerLastVerified, () => Read(s => s.At.ToUnixTimeMilliseconds() / 1000.0), unit: "s",
            description: "When the ledger was last checked against its newest signed checkpoint, Unix seconds.");
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.LedgerCheckpointSeq, () => Read(s => (double)s.Seq),
            description: "The seq of the newest signed checkpoint the ledger was checked against.");
    }

    public static bool? Held
    {
        get
        {
            lock (Gate)
            {
                return last?.Held;
            }
        }
    }

    public static void Record(bool held, long checkpointSeq, DateTimeOffset at)
    {
        lock (Gate)
        {
            last = (held, at, checkpointSeq);
        }
    }

    private static IEnumerable<Measurement<double>> Read(Func<(bool Held, DateTimeOffset At, long Seq), double> value)
    {
        (bool, DateTimeOffset, long)? state;
        lock (Gate)
        {
            state = last;
        }

        if (state is { } s)
        {
            yield return new Measurement<double>(value(s));
        }
    }
}
