using System.Globalization;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>One thing that is wrong now: a rule, what it is about (a queue, a unit, a service, a client id), and a metadata-only detail.</summary>
public sealed record Condition(string Rule, string Key, string Detail);

/// <summary>
/// What one rule found in one evaluation. <see cref="Complete"/> false means a source could not be read (the broker or a
/// service did not answer): what was found is raised, but nothing is cleared on the strength of an answer not given.
/// </summary>
public sealed record Observation(string Rule, IReadOnlyList<Condition> Firing, bool Complete = true)
{
    public static Observation Unknown(string rule) => new(rule, [], Complete: false);
}

/// <summary>
/// The alert rules of issue 13 item 1 as pure functions of what Ops observed, so that their thresholds are tested
/// without a broker or a clock (AlertRulesTests). The same rules are written for Prometheus in deploy/monitoring/rules.yml.
/// Every key and detail is metadata: queue names, unit ids, service names, client ids, counts and times.
/// </summary>
public static class AlertRules
{
    public const string ErrorQueue = "error-queue-not-empty";
    public const string Undelivered = "permitted-not-delivered";
    public const string ReportOfConcern = "report-of-concern-unacknowledged";
    public const string Refusals = "refusals-above-baseline";
    public const string WatchdogRestart = "watchdog-restart";
    public const string LedgerVerification = "ledger-verification-failed";
    public const string CertificateExpiry = "client-certificate-expiring";
    public const string OverdueReviews = "disclosure-reviews-overdue";

    public static IReadOnlyList<string> All { get; } =
        [ErrorQueue, Undelivered, ReportOfConcern, Refusals, WatchdogRestart, LedgerVerification, CertificateExpiry, OverdueReviews];

    /// <summary>The rules whose key is a unit id: the only alerts a principal's operators see (AlertsApi.VisibleTo).</summary>
    public static IReadOnlySet<string> ByUnit { get; } = new HashSet<string>(StringComparer.Ordinal) { Undelivered, ReportOfConcern, OverdueReviews };

        /// <summary>How long a condition must hold before it is raised: only an error queue's emptiness is waited for.</summary>
    public static TimeSpan HoldFor(string rule, AlertOptions options) => rule == ErrorQueue ? options.ErrorQueueFor : TimeSpan.Zero;

    /// <summary>Every error queue (a name ending <c>_error</c>) holding messages now.</summary>
    public static Observation ErrorQueues(IEnumerable<QueueDepth> queues) => new(ErrorQueue, [.. queues
        .Where(q => q.Name.EndsWith("_error", StringComparison.Ordinal) && q.Messages > 0)
        .OrderBy(q => q.Name, StringComparer.Ordinal)
        .Select(q => new Condition(ErrorQueue, q.Name, Invariant($"{q.Messages} message(s) in {q.Name}")))]);

    /// <summary>Permitted messages neither delivered nor withdrawn after the threshold, one alert per receiving unit.</summary>
    public static Observation UndeliveredMessages(IEnumerable<LateGroup> late, AlertOptions options) => new(Undelivered, [.. late
        .Select(g => new Condition(Undelivered, g.Unit, Invariant(
            $"{g.Messages} message(s) permitted for {g.Unit} and not delivered after {Describe(options.UndeliveredAfter)}; oldest permitted {g.Oldest:O}; e.g. {string.Join(", ", g.Examples)}")))]);

    /// <summary>Reports of concern delivered to an intake unit and not acknowledged after the threshold, one alert per unit.</summary>
    public static Observation UnacknowledgedReports(IEnumerable<LateGroup> late, AlertOptions options) => new(ReportOfConcern, [.. late
        .Select(g => new Condition(ReportOfConcern, g.Unit, Invariant(
            $"{g.Messages} report(s) of concern delivered to {g.Unit} and not acknowledged after {Describe(options.ReportOfConcernUnacknowledgedAfter)}; oldest delivered {g.Oldest:O}; e.g. {string.Join(", ", g.Examples)}")))]);

    /// <summary>
    /// Refusals in the last window above <see cref="AlertOptions.RefusalFactor"/> times the average of the windows before
    /// it, and above <see cref="AlertOptions.RefusalFloor"/>. One hub-wide alert: a surge of refusals is a client or a
    /// configuration gone wrong, wherever it shows first.
    /// </summary>
    public static Observation RefusalSurge(long inWindow, long inBaseline, AlertOptions options)
    {
        var average = (double)inBaseline / options.RefusalBaselineWindows;
        var threshold = Math.Max(options.RefusalFloor, options.RefusalFactor * average);
        return new(Refusals, inWindow > threshold
            ? [new Condition(Refusals, "hub", Invariant(
                $"{inWindow} refusal(s) in the last {Describe(options.RefusalWindow)}; baseline {average:0.#} per window over the {options.RefusalBaselineWindows} before; threshold {threshold:0.#}"))]
            : []);
    }

    /// <summary>A service whose messaging watchdog restarted it within the window (its last restart's time, by service).</summary>
    public static Observation WatchdogRestarts(IReadOnlyDictionary<string, DateTimeOffset> lastRestart, DateTimeOffset now, AlertOptions options, bool complete) =>
        new(WatchdogRestart, [.. lastRestart
            .Where(r => now - r.Value < options.WatchdogRestartWindow)
            .OrderBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => new Condition(WatchdogRestart, r.Key, Invariant($"{r.Key} was restarted by its messaging watchdog at {r.Value:O}")))], complete);

    /// <summary>The consent service's last check of the ledger against its newest checkpoint failed (1 held, 0 failed).</summary>
    public static Observation Ledger(double? verified, bool complete) =>
        new(LedgerVerification, verified is 0
            ? [new Condition(LedgerVerification, "consent", "the ledger no longer holds the head of its newest signed checkpoint; run verify-ledger")]
            : [], complete && verified is not null);

    /// <summary>Client certificates the gateway has seen that expire within the threshold, by client id.</summary>
    public static Observation ExpiringCertificates(IReadOnlyDictionary<string, DateTimeOffset> notAfter, DateTimeOffset now, AlertOptions options, bool complete) =>
        new(CertificateExpiry, [.. notAfter
            .Where(c => c.Value - now < options.CertificateExpiresWithin)
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new Condition(CertificateExpiry, c.Key, c.Value <= now
                ? Invariant($"the client certificate of {c.Key} expired at {c.Value:O}")
                : Invariant($"the client certificate of {c.Key} expires at {c.Value:O}, in {Math.Floor((c.Value - now).TotalDays)} day(s)")))], complete);

    /// <summary>Overdue disclosure reviews (issue 14 item 2), by responsible unit.</summary>
    public static Observation Reviews(IReadOnlyDictionary<string, double> overdueByUnit, bool complete) =>
        new(OverdueReviews, [.. overdueByUnit
            .Where(u => u.Value > 0)
            .OrderBy(u => u.Key, StringComparer.Ordinal)
            .Select(u => new Condition(OverdueReviews, u.Key, Invariant($"{u.Value:0} flagged disclosure(s) of {u.Key} not reviewed in time")))], complete);

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays == Math.Floor(span.TotalDays) ? Invariant($"{span.TotalDays:0} day(s)")
        : span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? Invariant($"{span.TotalHours:0} hour(s)")
        : span.TotalMinutes >= 1 && span.TotalMinutes == Math.Floor(span.TotalMinutes) ? Invariant($"{span.TotalMinutes:0} minute(s)")
        : Invariant($"{span.TotalSeconds:0.#} second(s)");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One queue's depth from the broker's management API.</summary>
public sealed record QueueDepth(string Name, long Messages, long Consumers);

/// <summary>Late messages of one unit: how many, the oldest's time, and a few message ids to follow in the trail.</summary>
public sealed record LateGroup(string Unit, long Messages, DateTimeOffset Oldest, IReadOnlyList<Guid> Examples);

/// <summary>
/// Turns observations into raises and clears: one open alert per rule and key; a condition that has held for its rule's
/// hold time and is not open is raised; an open alert whose condition no longer holds (by a complete observation) is
/// cleared. The hold clocks are this process's: after a restart an error queue is waited for afresh.
/// </summary>
public sealed class AlertStateMachine(AlertOptions options)
{
    private readonly Dictionary<(string Rule, string Key), DateTimeOffset> pendingSince = [];

    public AlertPlan Plan(DateTimeOffset now, IEnumerable<Observation> observations, IEnumerable<OpenAlert> open)
    {
        var openKeys = open.GroupBy(a => a.Rule).ToDictionary(g => g.Key, g => g.ToDictionary(a => a.Key));
        var raise = new List<Condition>();
        var clear = new List<OpenAlert>();
        foreach (var observation in observations)
        {
            var openOfRule = openKeys.GetValueOrDefault(observation.Rule) ?? [];
            var firing = observation.Firing.Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var condition in observation.Firing)
            {
                if (openOfRule.ContainsKey(condition.Key))
                {
                    pendingSince.Remove((condition.Rule, condition.Key));
                    continue;
                }

                var since = pendingSince.TryGetValue((condition.Rule, condition.Key), out var seen) ? seen : pendingSince[(condition.Rule, condition.Key)] = now;
                if (now - since >= AlertRules.HoldFor(condition.Rule, options))
                {
                    raise.Add(condition);
                    pendingSince.Remove((condition.Rule, condition.Key));
                }
            }

            if (!observation.Complete)
            {
                continue;
            }

            foreach (var key in pendingSince.Keys.Where(k => k.Rule == observation.Rule && !firing.Contains(k.Key)).ToList())
            {
                pendingSince.Remove(key);
            }

            clear.AddRange(openOfRule.Values.Where(a => !firing.Contains(a.Key)));
        }

        return new AlertPlan(raise, clear);
    }
}

public sealed record AlertPlan(IReadOnlyList<Condition> Raise, IReadOnlyList<OpenAlert> Clear);

/// <summary>What the state machine needs of an open alert.</summary>
public sealed record OpenAlert(long Id, string Rule, string Key);
