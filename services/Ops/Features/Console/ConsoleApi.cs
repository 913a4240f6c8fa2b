using System.Reflection;
using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// The operations console (issue 13): server-rendered pages for browsers that present an operations client certificate
/// to the gateway, which names the operator's scope in the caller token (<see cref="OperatorScopes"/>). Light live
/// updates come from htmx (2.0.11, 0BSD, vendored in Assets with its licence): no build step, no script of our own.
/// </summary>
internal static class ConsoleApi
{
    /// <summary>Scripts and styles from the console's own assets only; nothing inline, no frames, forms only to itself.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["htmx.min.js"] = "text/javascript; charset=utf-8",
        ["console.css"] = "text/css; charset=utf-8",
    };

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder app)
    {
        var console = app.MapGroup("/console").AddEndpointFilter(OperatorsOnly);
        console.MapGet("/", OverviewPage.Show).WithSummary("Console: the overview page (HTML).");
        console.MapGet("/flows", FlowsPage.Show).WithSummary("Console: flows per centre, month, pair and purpose, suppressed, and the referral chart (HTML).");
        console.MapGet("/search", SearchPage.Show).WithSummary("Console: search messages by metadata and pseudonym (HTML).");
        console.MapPost("/search", SearchPage.Post).WithSummary("Console: the search form; turns an identity number or Idempotency-Key into pseudonym or id, then redirects.")
            .DisableAntiforgery();
        console.MapGet("/messages/{messageId:guid}", TrailPage.Show).WithSummary("Console: one message's trail (HTML).");
        console.MapGet("/alerts", AlertsPage.Show).WithSummary("Console: open and lately cleared alerts, each with its period (HTML).");
        console.MapGet("/dead-letters", DeadLettersPage.Show).WithSummary("Console: every service's error queues, each loaded from its service (HTML).");
        console.MapGet("/assets/{name}", Asset).WithSummary("Console: its stylesheet and the vendored htmx script.");
        return app;
    }

    /// <summary>
    /// Only operations clients; and a form posted from another site is refused: a browser sends the operator's
    /// certificate with any request, so a foreign page could otherwise post in the operator's name. A browser says where
    /// a request comes from in Sec-Fetch-Site; htmx's requests carry HX-Request, which no cross-site form can set.
    /// </summary>
    private static async ValueTask<object?> OperatorsOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        if (http.User.Operates() is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "The console is for operations clients",
                detail: "The client certificate is not registered with an operations scope.");
        }

        if (!HttpMethods.IsGet(http.Request.Method) && !SameOrigin(http.Request))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "A form from another site is not accepted");
        }

        return await next(context);
    }

    private static bool SameOrigin(HttpRequest request) => request.Headers["Sec-Fetch-Site"].ToString() switch
    {
        "same-origin" => true,
        "" => request.Headers["HX-Request"] == "true",
        _ => false,
    };

    private static IResult Asset(string name)
    {
        if (!Assets.TryGetValue(name, out var contentType)
            || Assembly.GetExecutingAssembly().GetManifestResourceStream($"console/{name}") is not { } stream)
        {
            return TypedResults.NotFound();
        }

        return TypedResults.Stream(stream, contentType);
    }
}
