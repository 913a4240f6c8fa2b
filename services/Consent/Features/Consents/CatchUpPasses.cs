namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// Which consent versions and custody changes a catch-up loop reads on its next pass. The loops (a version's ledger
/// entry, a revocation's announcement, a narrowing's or custody change's sweep) redo what a fast path left undone, every
/// few seconds for as long as the hub runs, while versions and custody changes only grow: reading every one on every pass
/// would cost more each year (CatchUpQueryPlanTests). So a pass reads only what was recorded (or, for a custody change,
/// took effect) within <see cref="RecentInterval"/>, as long as the last pass that found everything done started at most
/// <see cref="RecentCovers"/> ago; otherwise, at the loop's start and once every <see cref="AllEvery"/>, it reads
/// everything. The look-back is longer than the gap it covers by a margin for a version whose time was stamped before a
/// slow commit, and for clocks of two instances that disagree.
/// </summary>
public sealed class CatchUpPasses(TimeProvider clock)
{
    public enum Pass
    {
        All,
        Recent,
    }

    /// <summary>How far back a recent pass reads, as PostgreSQL's interval; a constant in the text keeps its plan one that uses the time indexes.</summary>
    public const string RecentInterval = "10 minutes";

    /// <summary>The most rows one query of a pass reads; a pass that reads this many did not see everything.</summary>
    public const int Limit = 100;

    /// <summary>A recent pass's condition on consent versions (<c>v</c>), served by consent_versions_by_time.</summary>
    public const string RecentVersions = $"AND v.recorded_at >= now() - interval '{RecentInterval}'";

    /// <summary>
    /// The sweeper's recent pass over consent versions (<c>v</c>): recorded lately, or starting lately (a version dated
    /// ahead, whose "no" vetoes only from its start); served by consent_versions_by_time and consent_versions_by_start.
    /// </summary>
    public const string RecentVersionsOrStarts =
        $"AND (v.recorded_at >= now() - interval '{RecentInterval}' OR v.valid_from BETWEEN now() - interval '{RecentInterval}' AND now())";

    /// <summary>The sweeper's recent pass over consents' ends (<c>v</c>): ending lately; served by consent_versions_by_end.</summary>
    public const string RecentEnds = $"AND v.valid_until BETWEEN now() - interval '{RecentInterval}' AND now()";

    /// <summary>
    /// A recent pass's condition on custody changes (<c>c</c>): recorded lately, or taking effect lately (one recorded
    /// long ago for a date that has just come); served by the two time indexes of custody_changes.
    /// </summary>
    public const string RecentCustodyChanges =
        $"AND (c.recorded_at >= now() - interval '{RecentInterval}' OR c.no_longer_guardian_from >= now() - interval '{RecentInterval}')";

    internal static readonly TimeSpan RecentCovers = TimeSpan.FromMinutes(5);
    internal static readonly TimeSpan AllEvery = TimeSpan.FromHours(1);

    private DateTimeOffset? lastDone;
    private DateTimeOffset lastAll;
    private DateTimeOffset started;
    private Pass current;

    public CatchUpPasses() : this(TimeProvider.System)
    {
    }

    /// <summary>The pass to run now.</summary>
    public Pass Next()
    {
        started = clock.GetUtcNow();
        current = lastDone is { } done && started - done <= RecentCovers && started - lastAll < AllEvery ? Pass.Recent : Pass.All;
        return current;
    }

    /// <summary>
    /// The pass begun by <see cref="Next"/> finished: <paramref name="foundAll"/> when it saw everything its condition
    /// matched (fewer rows than its limit) and did all of it. A pass that failed never gets here.
    /// </summary>
    public void Finished(bool foundAll)
    {
        if (!foundAll)
        {
            return;
        }

        lastDone = started;
        if (current == Pass.All)
        {
            lastAll = started;
        }
    }
}
