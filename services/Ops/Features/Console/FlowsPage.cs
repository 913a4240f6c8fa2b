using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using FamiljecentralHub.Ops.Features.Statistics;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Npgsql;
using static FamiljecentralHub.Ops.Features.Console.ConsolePage;
using static FamiljecentralHub.Ops.Features.Statistics.Suppression;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// Flows: per family centre, month, pair of operations and purpose, how many messages were permitted, refused and
/// withdrawn, suppressed as the referral statistics are (<see cref="Suppression"/>: small counts hidden, and a second
/// cell where a row's total would give a hidden one away); then the referral chart of issue 14.
/// </summary>
internal static class FlowsPage
{
    private sealed class Row
    {
        public string Month { get; init; } = "";
        public string? FamilyCentre { get; init; }
        public string SendingOperation { get; init; } = "";
        public string ReceivingOperation { get; init; } = "";
        public string Purpose { get; init; } = "";
        public long Permitted { get; init; }
        public long Refused { get; init; }
        public long Withdrawn { get; init; }
    }

    public static async Task<IResult> Show(
        string? from, string? to, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var (first, last) = StatisticsApi.Range(from, to, clock, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The range is not valid");
        }

        var scope = OperatorScope.Of(caller, registry);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        // A message counts once, in the month it was sent, by where it ended: refused, withdrawn, or permitted (which
        // takes in delivered, acknowledged and a delivery that failed and waits for a redrive).
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition(
            $"""
            SELECT to_char(date_trunc('month', sent_at AT TIME ZONE 'Europe/Stockholm'), 'YYYY-MM') AS Month, family_centre AS FamilyCentre,
                   sending_operation AS SendingOperation, receiving_operation AS ReceivingOperation, purpose AS Purpose,
                   count(*) FILTER (WHERE status NOT IN ('Refused', 'Withdrawn')) AS Permitted,
                   count(*) FILTER (WHERE status = 'Refused') AS Refused,
                   count(*) FILTER (WHERE status = 'Withdrawn') AS Withdrawn
            FROM messages
            WHERE sent_at >= @start AND sent_at < @end AND {OperatorScope.Filter}
            GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            """,
            new { start = StatisticsApi.Instant(first), end = StatisticsApi.Instant(last.AddMonths(1)), scope.All, scope.UnitList },
            cancellationToken: cancellationToken))).ToList();

        var cells = rows.Select(r => (Row: r, Permitted: new Cell(r.Permitted), Refused: new Cell(r.Refused), Withdrawn: new Cell(r.Withdrawn),
            Total: new Cell(r.Permitted + r.Refused + r.Withdrawn))).ToList();
        Complete([.. cells.Select(c => new Group(c.Total, [c.Permitted, c.Refused, c.Withdrawn]))]);

        var statistics = await StatisticsApi.QueryAsync(db, scope, first, last, cancellationToken);
        var range = $"{first:yyyy-MM} – {last:yyyy-MM}";
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<form method=\"get\" action=\"{Base}/flows\"><label>From <input name=\"from\" value=\"{first:yyyy-MM}\"></label> ")
            .Append(CultureInfo.InvariantCulture, $"<label>to <input name=\"to\" value=\"{last:yyyy-MM}\"></label> <button type=\"submit\">Show</button></form>")
            .Append(CultureInfo.InvariantCulture, $"<h2>Messages {E(range)}</h2>")
            .Append(CultureInfo.InvariantCulture, $"<p class=\"note\">Counts of 1–{Threshold - 1} are not shown (–), nor a count that a row's total would give away.</p>")
            .Append(Table(
                ["Month", "Family centre", "From", "To", "Purpose", "n:Permitted", "n:Refused", "n:Withdrawn", "n:Total"],
                cells.Select(c => (IEnumerable<string>)
                [
                    E(c.Row.Month), E(c.Row.FamilyCentre ?? "none"), E(c.Row.SendingOperation), E(c.Row.ReceivingOperation), E(c.Row.Purpose),
                    Figure(c.Permitted), Figure(c.Refused), Figure(c.Withdrawn), Figure(c.Total),
                ]),
                "No messages in this range."))
            .Append(CultureInfo.InvariantCulture, $"<h2>Referrals between the operations {E(range)}</h2>")
            .Append(ReferralChart.Body(statistics));
        return Html("Flows", "/flows", scope, html.ToString());
    }

    private static string Figure(Cell cell) => "n:" + (cell.Shown is { } shown ? N(shown) : "–");
}
