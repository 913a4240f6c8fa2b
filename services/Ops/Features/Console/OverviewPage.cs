using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Npgsql;
using static FamiljecentralHub.Ops.Features.Console.ConsolePage;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// The overview: what the hub is doing now. Messages per minute by outcome, submit → delivered latency, refusals by
/// reason, all within the operator's scope; refreshed in place every few seconds (htmx swaps the live section).
/// </summary>
internal static class OverviewPage
{
    /// <summary>The steps counted per minute, in lifecycle order.</summary>
    private static readonly string[] Outcomes = ["Permitted", "Refused", "Delivered", "Acknowledged", "Withdrawn", "DeliveryFailed"];

    private sealed class Minute
    {
        public DateTimeOffset At { get; init; }
        public string Status { get; init; } = "";
        public long Messages { get; init; }
    }

    private sealed class Latency
    {
        public double? P50 { get; init; }
        public double? P95 { get; init; }
        public long Delivered { get; init; }
    }

    private sealed class Refusal
    {
        public string Reason { get; init; } = "";
        public long Messages { get; init; }
    }

    public static async Task<IResult> Show(HttpRequest request, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        var live = await LiveAsync(scope, db, clock, cancellationToken);
        return IsFragmentRequest(request) ? Fragment(live) : Html("Overview", "", scope, live);
    }

    private static async Task<string> LiveAsync(OperatorScope scope, NpgsqlDataSource db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var since = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-29);
        var parameters = new { since, latencySince = now.AddMinutes(-15), refusalsSince = now.AddHours(-24), scope.All, scope.UnitList };
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var minutes = (await connection.QueryAsync<Minute>(new CommandDefinition(
            $"""
            SELECT date_trunc('minute', occurred_at) AS At, status AS Status, count(*) AS Messages
            FROM message_events WHERE occurred_at >= @since AND {OperatorScope.Filter}
            GROUP BY 1, 2
            """, parameters, cancellationToken: cancellationToken))).ToList();
        var latency = await connection.QuerySingleAsync<Latency>(new CommandDefinition(
            $"""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM occurred_at - submitted_at) * 1000) AS P50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM occurred_at - submitted_at) * 1000) AS P95,
                   count(*) AS Delivered
            FROM message_events
            WHERE status = 'Delivered' AND occurred_at >= @latencySince AND submitted_at IS NOT NULL AND {OperatorScope.Filter}
            """, parameters, cancellationToken: cancellationToken));
        var refusals = (await connection.QueryAsync<Refusal>(new CommandDefinition(
            $"""
            SELECT reason AS Reason, count(*) AS Messages
            FROM message_events CROSS JOIN LATERAL unnest(CASE WHEN cardinality(reasons) = 0 THEN ARRAY['(no reason given)'] ELSE reasons END) AS reason
            WHERE status = 'Refused' AND occurred_at >= @refusalsSince AND {OperatorScope.Filter}
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20
            """, parameters, cancellationToken: cancellationToken))).ToList();

        var html = new StringBuilder($"<section id=\"live\" hx-get=\"{Base}\" hx-trigger=\"every 10s\" hx-swap=\"outerHTML\">");
        html.Append("<div class=\"panels\">")
            .Append(CultureInfo.InvariantCulture, $"<div class=\"panel\"><h2>Submit → delivered, last 15 minutes</h2><p>p50 <span class=\"figure\" data-metric=\"p50\">{Milliseconds(latency.P50)}</span> ")
            .Append(CultureInfo.InvariantCulture, $"p95 <span class=\"figure\" data-metric=\"p95\">{Milliseconds(latency.P95)}</span></p><p class=\"note\">{N(latency.Delivered)} delivered</p></div>")
            .Append(CultureInfo.InvariantCulture, $"<div class=\"panel\"><h2>Refusals by reason, last 24 hours</h2>{Table(["Reason", "n:Messages"], refusals.Select(r => (IEnumerable<string>)[E(r.Reason), "n:" + N(r.Messages)]), "None.")}</div>")
            .Append("</div>");

        html.Append("<h2>Messages per minute by outcome, last 30 minutes (UTC)</h2>");
        var byMinute = minutes.ToLookup(m => m.At.ToUniversalTime());
        var rows = Enumerable.Range(0, 30).Select(i => since.AddMinutes(29 - i)).Select(minute => (IEnumerable<string>)
        [
            E(minute.ToString("HH:mm", CultureInfo.InvariantCulture)),
            .. Outcomes.Select(outcome => "n:" + N(byMinute[minute].Where(m => m.Status == outcome).Sum(m => m.Messages))),
        ]);
        html.Append(Table(["Minute", .. Outcomes.Select(o => "n:" + o)], rows));
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">As of {Time(now)}; refreshed every 10 seconds.</p></section>");
        return html.ToString();
    }
}
