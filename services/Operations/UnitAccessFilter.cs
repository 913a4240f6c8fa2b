using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FamiljecentralHub.Operations;

/// <summary>
/// A client system may act only for the units its certificate is registered for, and only for units this service
/// hosts. Both answers are the same 404-or-403 whatever the unit holds, so nothing is learnt by probing.
/// </summary>
internal sealed class UnitAccessFilter(OrganisationRegistry registry, OperationDescriptor descriptor) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var unitId = context.HttpContext.GetRouteValue("unitId") as string ?? "";
        var unit = registry.FindUnit(unitId);
        if (unit is null || !descriptor.Hosts(unit))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown unit",
                detail: $"This service hosts no unit '{unitId}'.");
        }

        if (!context.HttpContext.User.ActsFor(unitId))
        {
            AccessRefusals.Mark(context.HttpContext, AccessRefusals.NotYourUnit, unitId);
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your unit",
                detail: $"Your client system is not registered to act for unit '{unitId}'.");
        }

        return await next(context);
    }
}
