using System.Security.Claims;
using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace FamiljecentralHub.Operations.Sending;

public sealed record SubmittedResponse(Guid MessageId, DisclosureStatus Status, string StatusUrl);

internal static class SendingApi
{
    public static void MapSendingApi(this RouteGroupBuilder units)
    {
        units.MapPost("/referrals", SubmitReferral);
    }

    private static async Task<Results<Accepted<SubmittedResponse>, ValidationProblem, ProblemHttpResult>> SubmitReferral(
        string unitId,
        ReferralRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        ClaimsPrincipal caller,
        OrganisationRegistry registry,
        OperationDescriptor descriptor,
        DisclosureSender sender,
        HttpContext http,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var receiving = ValidateReceivingUnit(request.ReceivingUnit, unitId, registry, errors);
        var subject = ValidateSubject(request.SubjectId, errors);
        if (request.Categories is not { Count: > 0 })
        {
            errors["categories"] = ["name at least one information category"];
        }

        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            errors["reason"] = ["say why the family is referred"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The referral is not valid");
        }

        var draft = new DisclosureDraft(
            receiving!.Id, Purpose.Referral, request.Categories!.Distinct().ToList(), subject!.Value.Value,
            JsonSerializer.Serialize(new { reason = request.Reason }), request.Basis, request.ActingUser);
        var messageId = await sender.SubmitAsync(unitId, draft, caller, idempotencyKey, cancellationToken);
        if (messageId is null)
        {
            http.Response.Headers.RetryAfter = "5";
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again shortly",
                detail: "The message broker did not confirm the message, so it was not accepted. Retry with the same Idempotency-Key.");
        }

        var statusUrl = $"/{descriptor.ServiceName}/units/{unitId}/sent/{messageId}";
        return TypedResults.Accepted(statusUrl, new SubmittedResponse(messageId.Value, DisclosureStatus.Submitted, statusUrl));
    }

    internal static Unit? ValidateReceivingUnit(string? receivingUnit, string sendingUnit, OrganisationRegistry registry, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(receivingUnit))
        {
            errors["receivingUnit"] = ["name the receiving unit"];
            return null;
        }

        var unit = registry.FindUnit(receivingUnit);
        if (unit is null)
        {
            errors["receivingUnit"] = [$"there is no unit '{receivingUnit}'"];
        }
        else if (unit.Id == sendingUnit)
        {
            errors["receivingUnit"] = ["a unit cannot send to itself"];
        }

        return unit;
    }

    internal static PersonalIdentityNumber? ValidateSubject(string? subjectId, Dictionary<string, string[]> errors)
    {
        if (!PersonalIdentityNumber.TryParse(subjectId, out var number, out var error))
        {
            errors["subjectId"] = [$"the personal identity or co-ordination number {error}"];
        }

        return number;
    }
}
