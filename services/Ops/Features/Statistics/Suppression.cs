namespace FamiljecentralHub.Ops.Features.Statistics;

/// <summary>
/// Small counts are hidden so that no family can be singled out (domain.md section 7), and hiding one is not enough:
/// where a total is shown, a single hidden cell in it is the total minus the cells shown. So after the small cells
/// (primary suppression) each shown total with exactly one hidden cell hides the smallest other cell too (complementary
/// suppression), until no shown total has a lone hidden cell. A total itself below the threshold is hidden, which keeps
/// its cells safe.
/// </summary>
public static class Suppression
{
    /// <summary>Counts from one to this minus one are hidden; zero is shown, being what an absent row says anyway.</summary>
    public const int Threshold = 5;

    /// <summary>A count and whether it is shown; a group is a set of cells with a total that is published beside them.</summary>
    public sealed class Cell(long count)
    {
        public long Count { get; } = count;

        public bool Hidden { get; set; } = count is > 0 and < Threshold;

        public long? Shown => Hidden ? null : Count;
    }

    public sealed class Group(Cell total, IReadOnlyList<Cell> cells)
    {
        public Cell Total { get; } = total;

        public IReadOnlyList<Cell> Cells { get; } = cells;
    }

    /// <summary>Hides cells until no shown total has exactly one hidden cell. Terminates: each pass hides a cell or stops.</summary>
    public static void Complete(IReadOnlyList<Group> groups)
    {
        bool changed;
        do
        {
            changed = false;
            foreach (var group in groups)
            {
                if (group.Total.Hidden || group.Cells.Count(cell => cell.Hidden) != 1)
                {
                    continue;
                }

                // The smallest shown cell: the least information lost. With no other cell to hide, hide the total.
                var partner = group.Cells.Where(cell => !cell.Hidden).OrderBy(cell => cell.Count).FirstOrDefault();
                (partner ?? group.Total).Hidden = true;
                changed = true;
            }
        }
        while (changed);
    }
}
