using System.Globalization;
using System.Net;
using System.Text;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// The console's page shell and its few helpers. Pages are server-rendered strings: every value passes through
/// <see cref="E"/>, and no value the hub holds is personal (unit ids, statuses, counts, pseudonyms), so an encoded page
/// is a safe page; the CSP (<see cref="ConsoleApi"/>) admits no inline script or style besides.
/// </summary>
internal static class ConsolePage
{
    /// <summary>Where the gateway serves the console: the Ops route's prefix, then the service's own path.</summary>
    public static readonly string Base = $"/{Catalogue.Ops.Name}/console";

    private static readonly (string Path, string Title)[] Pages =
    [
        ("", "Overview"), ("/flows", "Flows"), ("/search", "Search"), ("/dead-letters", "Dead letters"), ("/alerts", "Alerts"),
    ];

    public static IResult Html(string title, string current, OperatorScope scope, string body)
    {
        var html = new StringBuilder(body.Length + 2048);
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append(CultureInfo.InvariantCulture, $"<title>{E(title)} · FamiljecentralHub operations</title>")
            // No eval, no script in swapped content, no injected indicator style: the CSP forbids them anyway.
            .Append("<meta name=\"htmx-config\" content='{\"allowEval\":false,\"allowScriptTags\":false,\"includeIndicatorStyles\":false,\"historyCacheSize\":0}'>")
            .Append(CultureInfo.InvariantCulture, $"<link rel=\"stylesheet\" href=\"{Base}/assets/console.css\">")
            .Append(CultureInfo.InvariantCulture, $"<script src=\"{Base}/assets/htmx.min.js\" defer></script>")
            .Append("</head><body><header><strong>FamiljecentralHub operations</strong><nav>");
        foreach (var (path, name) in Pages)
        {
            html.Append(CultureInfo.InvariantCulture, $"<a href=\"{Base}{path}\"{(path == current ? " aria-current=\"page\"" : "")}>{E(name)}</a> ");
        }

        html.Append(CultureInfo.InvariantCulture, $"</nav><span class=\"scope\" data-scope=\"{E(scope.Name)}\">Scope: {E(scope.All ? "the whole hub" : scope.Name)}</span></header>")
            .Append(CultureInfo.InvariantCulture, $"<main><h1>{E(title)}</h1>").Append(body).Append("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    /// <summary>A fragment for htmx to swap in: the same markup as in the page, without the shell.</summary>
    public static IResult Fragment(string body) => Results.Content(body, "text/html; charset=utf-8");

    public static bool IsFragmentRequest(HttpRequest request) => request.Headers["HX-Request"] == "true";

    public static string E(string? value) => WebUtility.HtmlEncode(value ?? "");

    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? at) =>
        at is { } t ? E(t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)) : "–";

    public static string Milliseconds(double? value) =>
        value is { } v ? v.ToString("0", CultureInfo.InvariantCulture) + " ms" : "–";

    /// <summary>A table: header cells, then rows of already-encoded cells; a cell starting with "n:" is a number.</summary>
    public static string Table(IEnumerable<string> headers, IEnumerable<IEnumerable<string>> rows, string? emptyText = null)
    {
        var html = new StringBuilder("<table><thead><tr>");
        foreach (var header in headers)
        {
            html.Append(header.StartsWith("n:", StringComparison.Ordinal) ? $"<th class=\"n\">{E(header[2..])}</th>" : $"<th>{E(header)}</th>");
        }

        html.Append("</tr></thead><tbody>");
        var any = false;
        foreach (var row in rows)
        {
            any = true;
            html.Append("<tr>");
            foreach (var cell in row)
            {
                html.Append(cell.StartsWith("n:", StringComparison.Ordinal) ? $"<td class=\"n\">{cell[2..]}</td>" : $"<td>{cell}</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</tbody></table>");
        return any || emptyText is null ? html.ToString() : $"<p class=\"note\">{E(emptyText)}</p>";
    }
}
