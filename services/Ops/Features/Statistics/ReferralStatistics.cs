using System.Globalization;
using static FamiljecentralHub.Ops.Features.Statistics.Suppression;

namespace FamiljecentralHub.Ops.Features.Statistics;

/// <summary>Referrals from one operation to another at a family centre in one month.</summary>
public sealed record ReferralCount(string? FamilyCentre, string Month, string SendingOperation, string ReceivingOperation, long? Referrals);

/// <summary>All referrals at a family centre in one month, whatever the operations.</summary>
public sealed record ReferralMonthTotal(string? FamilyCentre, string Month, long? Referrals);

/// <summary>All referrals from one operation to another at a family centre over the whole range.</summary>
public sealed record ReferralPairTotal(string? FamilyCentre, string SendingOperation, string ReceivingOperation, long? Referrals);

/// <summary>
/// How many families (a family: the child the referrals are about) one operation referred to another at a family centre
/// in a calendar year: once, more than once, and in all (the evaluation question "how many families are referred, once or
/// more per year").
/// </summary>
public sealed record FamiliesReferred(
    string? FamilyCentre, int Year, string SendingOperation, string ReceivingOperation, long? ReferredOnce, long? ReferredMoreThanOnce, long? Families);

/// <summary>
/// The flow of referrals between a family centre's operations over time (domain.md section 7; the seeds' "Flödet /
/// slussningar mellan verksamheterna"), without personal data: counts only, small ones suppressed with their complements.
/// </summary>
public sealed record ReferralStatistics(
    string From,
    string To,
    int SuppressedBelow,
    IReadOnlyList<ReferralCount> Referrals,
    IReadOnlyList<ReferralMonthTotal> MonthTotals,
    IReadOnlyList<ReferralPairTotal> PairTotals,
    IReadOnlyList<FamiliesReferred> Families)
{
    /// <summary>One delivered referral: where, when, between which operations, and about whom (the keyed pseudonym).</summary>
    public sealed record Referral(string? FamilyCentre, string Month, string SendingOperation, string ReceivingOperation, string Subject);

    /// <summary>Counts, totals and families from the referrals, then every suppression the published totals call for.</summary>
    public static ReferralStatistics Of(string from, string to, IReadOnlyList<Referral> referrals)
    {
        var cells = referrals
            .GroupBy(r => (r.FamilyCentre, r.Month, r.SendingOperation, r.ReceivingOperation))
            .OrderBy(g => g.Key.FamilyCentre, StringComparer.Ordinal).ThenBy(g => g.Key.Month, StringComparer.Ordinal)
            .ThenBy(g => g.Key.SendingOperation, StringComparer.Ordinal).ThenBy(g => g.Key.ReceivingOperation, StringComparer.Ordinal)
            .Select(g => (g.Key, Cell: new Cell(g.LongCount())))
            .ToList();
        var months = cells.GroupBy(c => (c.Key.FamilyCentre, c.Key.Month))
            .Select(g => (g.Key, Total: new Cell(g.Sum(c => c.Cell.Count)), Cells: g.Select(c => c.Cell).ToList()))
            .ToList();
        var pairs = cells.GroupBy(c => (c.Key.FamilyCentre, c.Key.SendingOperation, c.Key.ReceivingOperation))
            .Select(g => (g.Key, Total: new Cell(g.Sum(c => c.Cell.Count)), Cells: g.Select(c => c.Cell).ToList()))
            .ToList();
        Complete([.. months.Select(m => new Group(m.Total, m.Cells)), .. pairs.Select(p => new Group(p.Total, p.Cells))]);

        // The families of a pair in a year count its referrals too (all of them, when every family was referred once), so
        // where any of the pair's referral figures for that year is hidden, its families are hidden with it.
        var hiddenPairYears = cells.Where(c => c.Cell.Hidden).Select(c => (c.Key.FamilyCentre, Year: c.Key.Month[..4], c.Key.SendingOperation, c.Key.ReceivingOperation))
            .Concat(pairs.Where(p => p.Total.Hidden).SelectMany(p => cells
                .Where(c => (c.Key.FamilyCentre, c.Key.SendingOperation, c.Key.ReceivingOperation) == p.Key)
                .Select(c => (c.Key.FamilyCentre, Year: c.Key.Month[..4], c.Key.SendingOperation, c.Key.ReceivingOperation))))
            .ToHashSet();

        var families = referrals
            .GroupBy(r => (r.FamilyCentre, Year: int.Parse(r.Month.AsSpan(0, 4), CultureInfo.InvariantCulture), r.SendingOperation, r.ReceivingOperation))
            .OrderBy(g => g.Key.FamilyCentre, StringComparer.Ordinal).ThenBy(g => g.Key.Year)
            .ThenBy(g => g.Key.SendingOperation, StringComparer.Ordinal).ThenBy(g => g.Key.ReceivingOperation, StringComparer.Ordinal)
            .Select(g =>
            {
                var perFamily = g.GroupBy(r => r.Subject, StringComparer.Ordinal).Select(f => f.Count()).ToList();
                var once = new Cell(perFamily.Count(n => n == 1));
                var more = new Cell(perFamily.Count(n => n > 1));
                var all = new Cell(perFamily.Count);
                Complete([new Group(all, [once, more])]);
                if (hiddenPairYears.Contains((g.Key.FamilyCentre, g.Key.Year.ToString("D4", CultureInfo.InvariantCulture), g.Key.SendingOperation, g.Key.ReceivingOperation)))
                {
                    once.Hidden = more.Hidden = all.Hidden = true;
                }

                return new FamiliesReferred(g.Key.FamilyCentre, g.Key.Year, g.Key.SendingOperation, g.Key.ReceivingOperation, once.Shown, more.Shown, all.Shown);
            })
            .ToList();

        return new ReferralStatistics(
            from,
            to,
            Threshold,
            [.. cells.Select(c => new ReferralCount(c.Key.FamilyCentre, c.Key.Month, c.Key.SendingOperation, c.Key.ReceivingOperation, c.Cell.Shown))],
            [.. months.Select(m => new ReferralMonthTotal(m.Key.FamilyCentre, m.Key.Month, m.Total.Shown))],
            [.. pairs.Select(p => new ReferralPairTotal(p.Key.FamilyCentre, p.Key.SendingOperation, p.Key.ReceivingOperation, p.Total.Shown))],
            families);
    }
}
