using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using FamiljecentralHub.Ops.Features.Alerts;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.Topology;
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

    public static async Task<IResult> Show(
        HttpRequest request, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, AlertEvaluator evaluator, AlertSources sources,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        var live = await LiveAsync(scope, db, clock, cancellationToken);
        if (scope.All)
        {
            // Queues, services and the ledger are the hub's to run: a principal's operators see their own messages only.
            live = live.Replace("</section>", await HubAsync(evaluator, sources, cancellationToken) + "</section>", StringComparison.Ordinal);
        }

        return IsFragmentRequest(request) ? Fragment(live) : Html("Overview", "", scope, live);
    }

    /// <summary>Each queue's depth and consumers (the broker's management API, as the alert evaluator last read it), every error queue's count, each service's readiness, the ledger's last check.</summary>
    private static async Task<string> HubAsync(AlertEvaluator evaluator, AlertSources sources, CancellationToken cancellationToken)
    {
        var queues = evaluator.LastQueues.OrderBy(q => q.Name, StringComparer.Ordinal).ToList();
        var readiness = await sources.ReadinessAsync(cancellationToken);
        var ledger = await sources.ServiceMetricsAsync(Catalogue.Consent.Name, new HashSet<string> { HubMetrics.LedgerVerifiedPrometheus }, cancellationToken);
        var verified = ledger?.Where(s => s.Name == HubMetrics.LedgerVerifiedPrometheus).Select(s => (double?)s.Value).DefaultIfEmpty(null).Min();
        var html = new StringBuilder("<div class=\"panels\">");
        html.Append("<div class=\"panel\"><h2>Services</h2>")
            .Append(Table(["Service", "Instance", "Ready"], readiness.Select(r => (IEnumerable<string>)
                [E(r.Service), E(r.Instance), r.Ready switch { true => "<span class=\"ok\">ready</span>", false => "<span class=\"bad\">not ready</span>", null => "<span class=\"bad\">no answer</span>" }]),
                "No service addresses are configured (Alerts:Services)."))
            .Append("<h2>Ledger</h2><p data-ledger=\"")
            .Append(verified switch { 1 => "verified\" class=\"ok\">chain and signed checkpoints verified at the last check", 0 => "failed\" class=\"bad\">VERIFICATION FAILED at the last check", _ => "unknown\">not known (the consent service's metrics did not answer)" })
            .Append("</p></div>");
        html.Append("<div class=\"panel\"><h2>Error queues</h2>")
            .Append(Table(["Queue", "n:Messages"], queues.Where(q => q.Name.EndsWith("_error", StringComparison.Ordinal))
                .Select(q => (IEnumerable<string>)[E(q.Name), "n:" + (q.Messages > 0 ? $"<span class=\"bad\">{N(q.Messages)}</span>" : N(q.Messages))]), "None declared yet."))
            .Append("</div>");
        html.Append("<div class=\"panel\"><h2>Queues</h2>")
            .Append(Table(["Queue", "n:Messages", "n:Consumers"], queues.Where(q => !q.Name.EndsWith("_error", StringComparison.Ordinal) && !q.Name.EndsWith("_skipped", StringComparison.Ordinal))
                .Select(q => (IEnumerable<string>)[E(q.Name), "n:" + N(q.Messages), "n:" + (q.Consumers == 0 ? "<span class=\"bad\">0</span>" : N(q.Consumers))]),
                "Not read yet (the broker's management API, Alerts:Broker)."))
            .Append("<p class=\"note\">The broker does not report the age of a quorum queue's oldest message; the dead letters page shows each error copy's age, and the permitted-not-delivered alert a message's.</p></div>");
        return html.Append("</div>").ToString();
    }

    private static async Task<string> LiveAsync(OperatorScope scope, NpgsqlDataSource db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var since = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-14);
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

        html.Append("<h2>Messages per minute by outcome, last 15 minutes (UTC)</h2>");
        var byMinute = minutes.ToLookup(m => m.At.ToUniversalTime());
        var rows = Enumerable.Range(0, 15).Select(i => since.AddMinutes(14 - i)).Select(minute => (IEnumerable<string>)
        [
            E(minute.ToString("HH:mm", CultureInfo.InvariantCulture)),
            .. Outcomes.Select(outcome => "n:" + N(byMinute[minute].Where(m => m.Status == outcome).Sum(m => m.Messages))),
        ]);
        html.Append(Table(["Minute", .. Outcomes.Select(o => "n:" + o)], rows));
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\" data-as-of>As of {Time(now)}; refreshed every 10 seconds.</p></section>");
        return html.ToString();
    }
}
