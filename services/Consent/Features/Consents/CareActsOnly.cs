using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// A client registered for the data controller's duties (log extracts, reviews, follow-up) acts for its principal's
/// units so that it sees their disclosures; it must not use them to act in care. A consent it recorded, widened or
/// revoked, or a custody change it reported, would change what the gate lets through, by a system whose staff follow
/// the log up rather than meet the family (docs/accountability.md, "Who may ask").
/// </summary>
internal static class CareActsOnly
{
    public static TBuilder RefuseDutyHolders<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            if (!context.HttpContext.User.HoldsAnyDuty())
            {
                return await next(context);
            }

            AccessRefusals.Mark(context.HttpContext, AccessRefusals.DutyHolder);
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not a care system",
                detail: "A client registered for the data controller's duties does not record or change consents.");
        });
}
