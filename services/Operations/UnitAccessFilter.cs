using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FamiljecentralHub.Operations;

/// <summary>
/// A client system may act only for the units its certificate is registered for, and only for units this service
/// hosts. Both answers are the same 404-or-403 whatever the unit holds, so nothing is learnt by probing, and neither
/// repeats the id: a path segment is the caller's input like any other, and could hold an identity number.
/// </summary>
internal sealed class UnitAccessFilter(OrganisationRegistry registry, OperationDescriptor descriptor) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var unitId = context.HttpContext.GetRouteValue("unitId") as string ?? "";
        var unit = unitId.Length <= UnitIds.MaxLength ? registry.FindUnit(unitId) : null;
        if (unit is null || !descriptor.Hosts(unit))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown unit",
                detail: "This service hosts no such unit.");
        }

        if (!context.HttpContext.User.ActsFor(unitId))
        {
            AccessRefusals.Mark(context.HttpContext, AccessRefusals.NotYourUnit, unitId);
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your unit",
                detail: "Your client system is not registered to act for this unit.");
        }

        return await next(context);
    }
}

/// <summary>Unit ids as the organisation file has them: short, so a longer one is unknown without a lookup.</summary>
internal static class UnitIds
{
    public const int MaxLength = 64;
}
