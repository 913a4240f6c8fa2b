using System.Security.Claims;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FamiljecentralHub.Consent.Features.Consents;

public sealed record ConsentCreated(Guid Id, int Version);

internal static class ConsentApi
{
    public static IEndpointRouteBuilder MapConsentApi(this IEndpointRouteBuilder app)
    {
        var consents = app.MapGroup("/consents");
        consents.MapPost("/", Record);
        consents.MapGet("/{id:guid}", Get);
        consents.MapGet("/{id:guid}/history", History);
        consents.MapPut("/{id:guid}", Change);
        consents.MapPost("/{id:guid}/revoke", Revoke);
        return app;
    }

    private static async Task<Results<Created<ConsentCreated>, ValidationProblem, ProblemHttpResult>> Record(
        RecordConsentRequest request, ClaimsPrincipal caller, ConsentValidator validator, ConsentStore store, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (request.RecordingUnit is { } unit && !caller.ActsFor(unit))
        {
            return NotYourUnit(unit);
        }

        var (record, errors) = validator.Validate(request, Guid.CreateVersion7(), 1, clock.GetUtcNow());
        if (record is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The consent is not valid");
        }

        await store.AddVersionAsync(record, cancellationToken);
        return TypedResults.Created($"/consent/consents/{record.Id}", new ConsentCreated(record.Id, record.Version));
    }

    private static async Task<Results<Ok<ConsentRecord>, ProblemHttpResult>> Get(
        Guid id, ClaimsPrincipal caller, ConsentStore store, CancellationToken cancellationToken)
    {
        var current = await store.CurrentAsync(id, cancellationToken);
        return current is not null && caller.Units().Any(current.Names) ? TypedResults.Ok(current) : NotFound();
    }

    private static async Task<Results<Ok<IReadOnlyList<ConsentRecord>>, ProblemHttpResult>> History(
        Guid id, ClaimsPrincipal caller, ConsentStore store, CancellationToken cancellationToken)
    {
        var history = await store.HistoryAsync(id, cancellationToken);
        return history.Count > 0 && caller.Units().Any(history[^1].Names) ? TypedResults.Ok(history) : NotFound();
    }

    /// <summary>A change is a new version: the old one stays, and the gate uses the newest from this moment on.</summary>
    private static async Task<Results<Ok<ConsentCreated>, ValidationProblem, ProblemHttpResult>> Change(
        Guid id, RecordConsentRequest request, ClaimsPrincipal caller, ConsentValidator validator, ConsentStore store, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var current = await store.CurrentAsync(id, cancellationToken);
        if (current is null || !caller.Units().Any(current.Names))
        {
            return NotFound();
        }

        if (request.RecordingUnit is { } unit && !caller.ActsFor(unit))
        {
            return NotYourUnit(unit);
        }

        if (current.State != ConsentState.Active)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Consent revoked",
                detail: "A revoked consent cannot be changed; record a new consent.");
        }

        if (request.ExpectedVersion != current.Version)
        {
            return VersionConflict(current.Version);
        }

        var (record, errors) = validator.Validate(request, id, current.Version + 1, clock.GetUtcNow());
        if (record is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The consent is not valid");
        }

        if (record.SubjectId != current.SubjectId)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["subjectId"] = ["a consent cannot be moved to another subject"] }, title: "The consent is not valid");
        }

        return await store.AddVersionAsync(record, cancellationToken)
            ? TypedResults.Ok(new ConsentCreated(record.Id, record.Version))
            : VersionConflict(current.Version);
    }

    /// <summary>Revocation takes effect at once: the gate reads the newest version of every consent it relies on.</summary>
    private static async Task<Results<Ok<ConsentCreated>, ValidationProblem, ProblemHttpResult>> Revoke(
        Guid id, RevokeConsentRequest request, ClaimsPrincipal caller, ConsentStore store, RevocationAnnouncer announcer, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var current = await store.CurrentAsync(id, cancellationToken);
        if (current is null || !caller.Units().Any(current.Names))
        {
            return NotFound();
        }

        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.RecordedBy))
        {
            errors["recordedBy"] = ["say who recorded the revocation"];
        }

        if (string.IsNullOrWhiteSpace(request.RecordingUnit) || !current.Names(request.RecordingUnit))
        {
            errors["recordingUnit"] = ["must be a unit the consent names"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The revocation is not valid");
        }

        if (!caller.ActsFor(request.RecordingUnit!))
        {
            return NotYourUnit(request.RecordingUnit!);
        }

        if (current.State == ConsentState.Revoked)
        {
            return TypedResults.Ok(new ConsentCreated(current.Id, current.Version));
        }

        var revoked = current with
        {
            Version = current.Version + 1,
            State = ConsentState.Revoked,
            RecordedBy = request.RecordedBy!,
            RecordingUnit = request.RecordingUnit!,
            JournalReference = request.JournalReference ?? current.JournalReference,
            RecordedAt = clock.GetUtcNow(),
            ChangeReason = request.Reason ?? "revoked",
        };
        if (!await store.AddVersionAsync(revoked, cancellationToken))
        {
            return VersionConflict(current.Version);
        }

        await announcer.TryAnnounceAsync(revoked, cancellationToken);
        return TypedResults.Ok(new ConsentCreated(revoked.Id, revoked.Version));
    }

    private static ProblemHttpResult NotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "No such consent", detail: "No consent with that id names a unit you act for.");

    private static ProblemHttpResult NotYourUnit(string unit)
    {
        AccessRefusals.MarkCurrent(AccessRefusals.NotYourUnit, unit);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status403Forbidden, title: "Not your unit", detail: $"Your client system is not registered to act for unit '{unit}'.");
    }

    private static ProblemHttpResult VersionConflict(int current) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict, title: "The consent has changed",
        detail: $"The current version is {current}. Read it again and send expectedVersion {current}.");
}
