using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// A service's refusals (401, 403) told to the gateway, which records them for operations (docs/design-decisions.md,
/// "Refused access is audited"). The service names the refusal in response headers the gateway removes before the client
/// sees the answer: the reason (a fixed word), the route pattern (never the raw path, which may hold a subject's id) and
/// the unit claimed, only when it is a registered unit. Each refusal is also a metadata-only line in the service's own
/// log, so one made to a caller that never passed the gateway is not silent either.
/// </summary>
public static class AccessRefusals
{
    public const string ReasonHeader = "X-Hub-Refusal-Reason";
    public const string RouteHeader = "X-Hub-Refusal-Route";
    public const string UnitHeader = "X-Hub-Refusal-Unit";

    /// <summary>The caller acts for some units, not this one.</summary>
    public const string NotYourUnit = "unit-not-acted-for";

    /// <summary>The caller acts for the unit, but only a disclosing unit may do this (record or widen a consent).</summary>
    public const string DiscloserOnly = "discloser-only";

    /// <summary>The caller's client system is not registered for the data controller's duty this needs (<see cref="Duties"/>).</summary>
    public const string NoDuty = "duty-not-held";

    /// <summary>The caller holds the data controller's duties: it reads the log, and does not act in care.</summary>
    public const string DutyHolder = "duty-holder-acts";

    /// <summary>Said in place of a claimed unit that is no registered unit: what a caller typed is not repeated.</summary>
    public const string UnknownUnit = "(unregistered)";

    /// <summary>Marks this request's answer as a refusal. Call before the answer is written.</summary>
    public static void Mark(HttpContext context, string reason, string? unit = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
        unit ??= context.GetRouteValue("unitId") as string;
        if (unit is not null && context.RequestServices.GetService<OrganisationRegistry>()?.FindUnit(unit) is null)
        {
            unit = UnknownUnit;
        }

        if (!context.Response.HasStarted)
        {
            context.Response.Headers[ReasonHeader] = reason;
            context.Response.Headers[RouteHeader] = route;
            if (unit is not null)
            {
                context.Response.Headers[UnitHeader] = unit;
            }
        }

        var client = context.User.FindFirst(CallerTokenDefaults.SubjectClaim)?.Value ?? "(no caller)";
        context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(AccessRefusals).FullName!)
            .LogWarning("Access refused: {Reason}, client {Client}, route {Route}, unit {Unit}", reason, client, route, unit ?? "-");
    }

    /// <summary>
    /// As <see cref="Mark(HttpContext, string, string?)"/>, for code that has no HttpContext at hand (a static result
    /// helper): the current request's, through IHttpContextAccessor (registered by AddServiceDefaults).
    /// </summary>
    public static void MarkCurrent(string reason, string? unit = null)
    {
        if (new HttpContextAccessor().HttpContext is { } context)
        {
            Mark(context, reason, unit);
        }
    }
}

/// <summary>
/// Refusals as the gateway hands them to Ops: metadata only, identical ones within a few seconds counted in one record
/// (a flood of refusals is one row a second, not one per request).
/// </summary>
/// <param name="Client">The registered client id, or a certificate's SHA-256 thumbprint prefix: never a certificate's names.</param>
/// <param name="Route">The route pattern, e.g. "/child-health/units/{unitId}/inbox": never the raw path.</param>
/// <param name="Unit">A registered unit, <see cref="AccessRefusals.UnknownUnit"/>, or null when none was claimed.</param>
public sealed record AccessRefusalRecord(
    string Client, string Route, string? Unit, string Reason, int Status, int Count, DateTimeOffset FirstAt, DateTimeOffset LastAt);

public sealed record AccessRefusalBatch(IReadOnlyList<AccessRefusalRecord>? Refusals);
