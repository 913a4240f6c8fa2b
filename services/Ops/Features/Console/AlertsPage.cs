using System.Security.Claims;
using System.Text;
using FamiljecentralHub.Ops.Features.Alerts;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.Extensions.Options;
using static FamiljecentralHub.Ops.Features.Console.ConsolePage;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// Alerts: what is firing now and what fired lately, each with its rule, its key (a queue, a unit, a service, a client
/// id), its period and a metadata-only detail (docs/alerts.md), within the operator's scope; refreshed in place.
/// </summary>
internal static class AlertsPage
{
    public static async Task<IResult> Show(
        HttpRequest request, ClaimsPrincipal caller, OrganisationRegistry registry, AlertStore store, IOptionsMonitor<AlertOptions> options, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        var now = clock.GetUtcNow();
        var open = AlertsApi.VisibleTo(scope, await store.OpenAsync(cancellationToken));
        var recent = AlertsApi.VisibleTo(scope, await store.RecentAsync(now - options.CurrentValue.RecentFor, 200, cancellationToken));
        var html = new StringBuilder($"<section id=\"alerts\" hx-get=\"{Base}/alerts\" hx-trigger=\"every 10s\" hx-swap=\"outerHTML\">");
        html.Append("<h2>Open</h2>")
            .Append(Table(["Rule", "Key", "Raised", "n:Open for", "Detail"],
                open.Select(a => (IEnumerable<string>)[$"<span class=\"bad\" data-rule=\"{E(a.Rule)}\" data-key=\"{E(a.Key)}\">{E(a.Rule)}</span>", E(a.Key), Time(a.RaisedAt), "n:" + E(Duration(now - a.RaisedAt)), E(a.Detail)]),
                "No alert is open."))
            .Append("<h2>Cleared lately</h2>")
            .Append(Table(["Rule", "Key", "Raised", "Cleared", "n:Lasted", "Detail"],
                recent.Select(a => (IEnumerable<string>)[$"<span data-cleared-rule=\"{E(a.Rule)}\" data-key=\"{E(a.Key)}\">{E(a.Rule)}</span>", E(a.Key), Time(a.RaisedAt), Time(a.ClearedAt), "n:" + E(Duration((a.ClearedAt ?? now) - a.RaisedAt)), E(a.Detail)]),
                "None."))
            .Append($"<p class=\"note\">As of {Time(now)}; evaluated every {E(Duration(options.CurrentValue.EvaluateEvery))}. Thresholds are set in configuration (docs/alerts.md); each raise and clear is also pushed to the alert webhook and written as Prometheus alerting rules (deploy/monitoring).</p></section>");
        return IsFragmentRequest(request) ? Fragment(html.ToString()) : Html("Alerts", "/alerts", scope, html.ToString());
    }

    private static string Duration(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{(int)span.TotalDays} d {span.Hours} h" : span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min" : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes} min {span.Seconds} s" : $"{Math.Max(0, (int)span.TotalSeconds)} s";
}
