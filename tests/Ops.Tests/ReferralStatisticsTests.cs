using FamiljecentralHub.Ops.Features.Statistics;
using FsCheck;
using FsCheck.Fluent;
using static FamiljecentralHub.Ops.Features.Statistics.Suppression;
using Referral = FamiljecentralHub.Ops.Features.Statistics.ReferralStatistics.Referral;

namespace FamiljecentralHub.Ops.Tests;

/// <summary>
/// Referral statistics publish no count small enough to single a family out, neither directly nor as a total minus the
/// counts shown beside it; and count what the family centres ask: referrals per pair and month, families once or more.
/// </summary>
public sealed class ReferralStatisticsTests
{
    private const string Bvc = "ChildHealth";
    private const string Social = "PreventiveSocialServices";
    private const string Preschool = "OpenPreschool";

    private static IEnumerable<Referral> Many(int count, string month, string from, string to, string centre = "fc", string? subject = null) =>
        Enumerable.Range(0, count).Select(i => new Referral(centre, month, from, to, subject ?? $"p-{from}-{to}-{month}-{i}"));

    [Fact]
    public void From_ASmallCellBesideItsMonthTotal_HidesAnotherCellSoTheTotalDoesNotRevealIt()
    {
        // November: 12 referrals BVC → social, 3 BVC → preschool. Shown alone, 15 − 12 would give the 3 away.
        var statistics = ReferralStatistics.Of("2026-11", "2026-11", [.. Many(12, "2026-11", Bvc, Social), .. Many(3, "2026-11", Bvc, Preschool)]);

        statistics.Referrals.Single(r => r.ReceivingOperation == Preschool).Referrals.ShouldBeNull();
        statistics.MonthTotals.Single().Referrals.ShouldBe(15);
        statistics.Referrals.Single(r => r.ReceivingOperation == Social).Referrals.ShouldBeNull("the complement of the small cell");
        statistics.PairTotals.Single(p => p.ReceivingOperation == Preschool).Referrals.ShouldBeNull();
    }

    [Fact]
    public void From_CountsAtOrAboveTheThreshold_AreShown()
    {
        var statistics = ReferralStatistics.Of("2026-10", "2026-11",
            [.. Many(6, "2026-10", Bvc, Social), .. Many(7, "2026-11", Bvc, Social), .. Many(5, "2026-11", Preschool, Social)]);

        statistics.Referrals.Select(r => r.Referrals).ShouldBe([6L, 7L, 5L]);
        statistics.MonthTotals.Select(m => m.Referrals).ShouldBe([6L, 12L]);
        statistics.PairTotals.Select(p => p.Referrals).ShouldBe([13L, 5L]);
    }

    [Fact]
    public void From_AFamilyReferredTwiceInAYear_CountsOnceAsReferredMoreThanOnce()
    {
        var repeated = Enumerable.Range(0, 6).SelectMany(i => Many(2, i % 2 == 0 ? "2026-03" : "2026-09", Bvc, Social, subject: $"p-repeat-{i}"));
        var once = Enumerable.Range(0, 8).SelectMany(i => Many(1, "2026-05", Bvc, Social, subject: $"p-once-{i}"));

        var families = ReferralStatistics.Of("2026-01", "2026-12", [.. repeated, .. once]).Families.Single();

        families.Year.ShouldBe(2026);
        families.ReferredOnce.ShouldBe(8);
        families.ReferredMoreThanOnce.ShouldBe(6);
        families.Families.ShouldBe(14);
    }

    [Fact]
    public void From_FewFamiliesReferredMoreThanOnce_HidesThemAndTheirComplement()
    {
        // Three families referred twice in March (six referrals, shown), nine once in May.
        var repeated = Enumerable.Range(0, 3).SelectMany(i => Many(2, "2026-03", Bvc, Social, subject: $"p-repeat-{i}"));
        var once = Enumerable.Range(0, 9).SelectMany(i => Many(1, "2026-05", Bvc, Social, subject: $"p-once-{i}"));

        var families = ReferralStatistics.Of("2026-01", "2026-12", [.. repeated, .. once]).Families.Single();

        families.ReferredMoreThanOnce.ShouldBeNull();
        families.Families.ShouldBe(12);
        families.ReferredOnce.ShouldBeNull("12 − 9 would give the 3 away");
    }

    [Fact]
    public void From_APairWithAHiddenMonth_HidesItsFamiliesToo()
    {
        // Twelve families referred once each: published, the families would be the pair's 12 referrals, and 15 − 12 the 3.
        var statistics = ReferralStatistics.Of("2026-11", "2026-11", [.. Many(12, "2026-11", Bvc, Social), .. Many(3, "2026-11", Bvc, Preschool)]);

        var families = statistics.Families.Single(f => f.ReceivingOperation == Social);
        new[] { families.ReferredOnce, families.ReferredMoreThanOnce, families.Families }.ShouldAllBe(figure => figure == null);
    }

    /// <summary>
    /// For any counts in any overlapping groups: no count from one to four is shown, and no shown total has exactly one
    /// hidden cell (which it would reveal).
    /// </summary>
    [Fact]
    public void Complete_AnyGroups_LeavesNoShownTotalWithALoneHiddenCell()
    {
        var counts = Gen.Choose(1, 30).Select(n => (long)n).ArrayOf().Where(a => a.Length is > 0 and < 12);
        var layouts =
            from cells in counts
            from memberships in Gen.Choose(0, 3).ArrayOf(cells.Length) // each cell in a row group and a column group
            select (Cells: cells, Columns: memberships);

        Prop.ForAll(Arb.From(layouts), layout =>
        {
            var cells = layout.Cells.Select(count => new Cell(count)).ToList();
            var groups = new List<Group> { new(new Cell(cells.Sum(c => c.Count)), cells) };
            groups.AddRange(cells.Select((cell, i) => (cell, column: layout.Columns[i])).GroupBy(x => x.column)
                .Select(g => new Group(new Cell(g.Sum(x => x.cell.Count)), [.. g.Select(x => x.cell)])));

            Complete(groups);

            cells.ShouldAllBe(cell => cell.Hidden || cell.Count == 0 || cell.Count >= Threshold);
            foreach (var group in groups.Where(g => !g.Total.Hidden))
            {
                group.Cells.Count(cell => cell.Hidden).ShouldNotBe(1, "a shown total less the cells shown would be the hidden one");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Chart_ShowsSuppressedFiguresAsDashesAndEncodesEveryValue()
    {
        var statistics = ReferralStatistics.Of("2026-11", "2026-11",
            [.. Many(12, "2026-11", Bvc, Social, centre: "<script>"), .. Many(3, "2026-11", Bvc, Preschool, centre: "<script>")]);

        var page = ReferralChart.Render(statistics);

        page.ShouldNotContain("<script>");
        page.ShouldContain("&lt;script&gt;");
        page.ShouldContain(">15</text>", customMessage: "the month's total is drawn");
        page.ShouldNotContain(">3<", customMessage: "a suppressed count appears nowhere");
        page.ShouldNotContain(">12<", customMessage: "nor its complement");
    }
}
