using System.Globalization;
using System.Net;
using System.Text;

namespace FamiljecentralHub.Ops.Features.Statistics;

/// <summary>
/// The referral statistics as a page a browser shows: per family centre, a bar for each month's total and the table of
/// pairs of operations beside it. Server-rendered SVG and HTML, no script, every value encoded; a suppressed figure is a
/// dash, never a bar, so the picture reveals no more than the numbers.
/// </summary>
internal static class ReferralChart
{
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const int BarHeight = 18;
    private const int ChartWidth = 480;

    public static string Render(ReferralStatistics s)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"sv\"><head><meta charset=\"utf-8\"><title>Slussningar mellan verksamheterna</title>");
        html.Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}")
            .Append("th:first-child,td:first-child{text-align:left}rect{fill:#2b6cb0}text{font-size:12px}</style></head><body>");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Slussningar mellan verksamheterna {E(s.From)} – {E(s.To)}</h1>");
        return html.Append(Body(s)).Append("</body></html>").ToString();
    }

    /// <summary>The chart and its tables without the page around them: the ops console places them on its Flows page.</summary>
    public static string Body(ReferralStatistics s)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<p>Antal under {s.SuppressedBelow} visas inte (–), och inte heller ett tal som annars kunde räknas fram ur en summa.</p>");

        foreach (var centre in s.MonthTotals.Select(m => m.FamilyCentre).Distinct().Order(StringComparer.Ordinal))
        {
            var months = s.MonthTotals.Where(m => m.FamilyCentre == centre).ToList();
            var largest = Math.Max(1, months.Max(m => m.Referrals ?? 0));
            html.Append(CultureInfo.InvariantCulture, $"<h2>{E(centre ?? "Utan familjecentral")}</h2>");
            html.Append(CultureInfo.InvariantCulture,
                $"<svg role=\"img\" aria-label=\"Slussningar per månad\" width=\"{ChartWidth + 140}\" height=\"{(months.Count * (BarHeight + 4)) + 4}\">");
            for (var i = 0; i < months.Count; i++)
            {
                var y = 2 + (i * (BarHeight + 4));
                var total = months[i].Referrals;
                html.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{y + 13}\">{E(months[i].Month)}</text>");
                if (total is { } count)
                {
                    var width = (int)Math.Max(1, count * ChartWidth / largest);
                    html.Append(CultureInfo.InvariantCulture, $"<rect x=\"70\" y=\"{y}\" width=\"{width}\" height=\"{BarHeight}\"/>");
                    html.Append(CultureInfo.InvariantCulture, $"<text x=\"{76 + width}\" y=\"{y + 13}\">{count}</text>");
                }
                else
                {
                    html.Append(CultureInfo.InvariantCulture, $"<text x=\"76\" y=\"{y + 13}\">–</text>");
                }
            }

            html.Append("</svg><table><tr><th>Från</th><th>Till</th><th>Slussningar</th></tr>");
            foreach (var pair in s.PairTotals.Where(p => p.FamilyCentre == centre))
            {
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td>{E(pair.SendingOperation)}</td><td>{E(pair.ReceivingOperation)}</td><td>{Figure(pair.Referrals)}</td></tr>");
            }

            html.Append("</table><table><tr><th>År</th><th>Från</th><th>Till</th><th>Familjer en gång</th><th>Flera gånger</th><th>Familjer</th></tr>");
            foreach (var f in s.Families.Where(f => f.FamilyCentre == centre))
            {
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td>{f.Year}</td><td>{E(f.SendingOperation)}</td><td>{E(f.ReceivingOperation)}</td><td>{Figure(f.ReferredOnce)}</td><td>{Figure(f.ReferredMoreThanOnce)}</td><td>{Figure(f.Families)}</td></tr>");
            }

            html.Append("</table>");
        }

        return html.ToString();
    }

    private static string Figure(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "–";

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
