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
    public static void MapSendingApi(this RouteGroupBuilder units, Vocabulary vocabulary) => vocabulary.MapTo(units);

    /// <summary>Every message type's endpoint: the type validates its own fields, the rest is written once here.</summary>
    internal static async Task<Results<Accepted<SubmittedResponse>, ValidationProblem, ProblemHttpResult>> SubmitAsync<TRequest>(
        string unitId,
        TRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        ClaimsPrincipal caller,
        OrganisationRegistry registry,
        OperationDescriptor descriptor,
        DisclosureSender sender,
        HttpContext http,
        CancellationToken cancellationToken)
        where TRequest : DisclosureRequest, IMessageType
    {
        // Read from the headers themselves: an empty value or the header twice must be refused, not taken for "no key".
        if (http.Request.Headers.TryGetValue(IdempotencyKey.Header, out var keys))
        {
            idempotencyKey = keys.Count == 1 ? keys[0] ?? "" : null;
            if ((idempotencyKey is null ? $"give one {IdempotencyKey.Header}" : IdempotencyKey.Problem(idempotencyKey)) is { } keyProblem)
            {
                return TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { [IdempotencyKey.Header] = [keyProblem] }, title: $"The {IdempotencyKey.Header} is not valid");
            }
        }

        var (draft, errors) = Validate(request, unitId, registry);
        if (draft is null)
        {
            return TypedResults.ValidationProblem(errors, title: $"The {request.Name} is not valid");
        }

        var (result, messageId) = await sender.SubmitAsync(unitId, TRequest.Route, draft, caller, idempotencyKey, cancellationToken);
        switch (result)
        {
            case SubmitResult.NotConfirmed:
                http.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again shortly",
                    detail: "The message broker did not confirm the message, so it was not accepted. Retry with the same Idempotency-Key.");
            case SubmitResult.KeyStoreUnavailable:
                http.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again shortly",
                    detail: "The Idempotency-Key could not be checked, so the message was not accepted. Retry with the same Idempotency-Key.");
            case SubmitResult.KeyReused:
                // Metadata only: nothing of either request is repeated.
                return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "The Idempotency-Key belongs to another request",
                    detail: "This Idempotency-Key was first used with a different request; nothing was sent. A new message needs a new key.");
        }

        var statusUrl = $"/{descriptor.ServiceName}/units/{unitId}/sent/{messageId}";
        return TypedResults.Accepted(statusUrl, new SubmittedResponse(messageId, DisclosureStatus.Submitted, statusUrl));
    }

    /// <summary>
    /// The draft, or every error by field. Pure (no broker, no database) so each message type's validation is unit
    /// tested. The sending unit is the route's, already checked by <see cref="UnitAccessFilter"/>.
    /// </summary>
    internal static (DisclosureDraft? Draft, Dictionary<string, string[]> Errors) Validate(DisclosureRequest request, string sendingUnit, OrganisationRegistry registry)
    {
        var errors = new Dictionary<string, string[]>();
        var receiving = ValidateReceivingUnit(request.ReceivingUnit, sendingUnit, registry, errors);
        if (receiving is not null && registry.FindUnit(sendingUnit) is { } sending && receiving.Id != sending.Id
            && request.CheckReceiver(sending, receiving) is { } wrongReceiver)
        {
            errors["receivingUnit"] = [wrongReceiver];
        }

        var subject = request.CheckSubject(errors);
        if (HsaId.Check(request.ActingUser) is { } actingUserError)
        {
            errors["actingUser"] = [actingUserError];
        }

        ValidateBasis(request.Basis, errors);

        var body = request.Compose(errors);
        if (errors.Count > 0 || body is null)
        {
            return (null, errors);
        }

        return (new DisclosureDraft(receiving!.Id, request.Purpose, body.Categories, subject, body.Content, request.Basis, request.ActingUser), errors);
    }

    /// <summary>
    /// A claimed basis is the gate's to judge, but its shape is checked here: it travels to the gate and, when the gate
    /// permits on it, to the receiver with the message. The assessor is a person in their role, so an HSA id, as the acting
    /// user is. Errors never repeat the input.
    /// </summary>
    internal static void ValidateBasis(ClaimedBasis? basis, Dictionary<string, string[]> errors)
    {
        if (basis is null)
        {
            return;
        }

        if (string.IsNullOrEmpty(basis.Basis) || basis.Basis.Length > 64 || !basis.Basis.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            errors["basis.basis"] = ["must be the id of a legal basis, e.g. protect-child-from-health-care (docs/secrecy-gate.md)"];
        }

        if (basis.AssessmentReference is { Length: > 200 })
        {
            errors["basis.assessmentReference"] = ["must be a journal reference of at most 200 characters"];
        }

        if (basis.Assessor is not null && HsaId.Check(basis.Assessor) is not null)
        {
            errors["basis.assessor"] = ["must be the designated assessor's HSA id, e.g. SE2321000016-BVC9, never a personal identity number"];
        }
    }

    internal static Unit? ValidateReceivingUnit(string? receivingUnit, string sendingUnit, OrganisationRegistry registry, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(receivingUnit))
        {
            errors["receivingUnit"] = ["name the receiving unit"];
            return null;
        }

        // The value is not repeated: a caller's mistake could put an identity number in any field.
        var unit = receivingUnit.Length <= UnitIds.MaxLength ? registry.FindUnit(receivingUnit) : null;
        if (unit is null)
        {
            errors["receivingUnit"] = ["there is no such unit"];
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
