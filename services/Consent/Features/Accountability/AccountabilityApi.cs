using System.Security.Claims;
using System.Security.Cryptography;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>
/// What the data controller's authorised staff may ask of the ledger (issue 14 items 1–3; docs/accountability.md): the
/// family's log extract, the review queue of flagged disclosures, and the log follow-up. Each needs its duty in the caller
/// token (<see cref="Duties"/>), and reaches only disclosures where one of the caller's units sent or received: a principal
/// answers for its own disclosures, and its staff see no other principal's.
/// </summary>
internal static class AccountabilityApi
{
    public const int MaxListLimit = 500;

    public static IEndpointRouteBuilder MapAccountabilityApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/accountability");
        group.MapPost("/log-extracts", Extract)
            .Produces<string>(StatusCodes.Status200OK, "text/html")
            .WithSummary("The family's log extract for one subject (the number in the body): JSON, or a printable Swedish HTML document with Accept: text/html. Needs the log-extract duty.");
        group.MapGet("/units/{unitId}/reviews", Reviews)
            .WithSummary("Flagged disclosures the unit answers for (it sent them), open ones by default. Needs the disclosure-review duty and the unit.");
        group.MapPost("/reviews/{messageId:guid}", Review)
            .WithSummary("Marks a flagged disclosure reviewed with a note; a second review is 409. Needs the disclosure-review duty and the sending unit.");
        group.MapGet("/reviews/overdue", Overdue)
            .WithSummary("Open and overdue reviews per unit, numbers only, for the ops console to poll.");
        group.MapPost("/follow-ups", FollowUp)
            .WithSummary("Log follow-up of one unit over a period, with a random sample drawn with a recorded seed. Needs the log-follow-up duty and the unit.");
        return app;
    }

    private static async Task<Results<Ok<LogExtract>, ContentHttpResult, ValidationProblem, ProblemHttpResult>> Extract(
        LogExtractRequest? request, ClaimsPrincipal caller, HttpContext http, AccountabilityValidator validator, LogExtracts extracts, LedgerWriter ledger,
        Pseudonymizer pseudonyms, IOptions<AccountabilityOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!caller.HasDuty(Duties.LogExtract))
        {
            return NoDuty();
        }

        var (problems, subject) = validator.ValidateExtract(request);
        if (problems.Any)
        {
            return Invalid(problems, "The extract request is not valid");
        }

        var now = clock.GetUtcNow();
        var zone = TimeZoneInfo.FindSystemTimeZoneById(options.Value.TimeZone);
        var age = subject!.Value.AgeOn(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime));
        if (ProxyRule(request!, age) is { } refusal)
        {
            return refusal;
        }

        var pseudonym = pseudonyms.For(subject.Value.Value);
        var extract = await extracts.BuildAsync(Guid.CreateVersion7(), pseudonym, caller.Units(), request!.Requester!.Value, now, cancellationToken);
        // Recorded before it is handed out: an extract the ledger does not show was never given.
        await ledger.AppendAsync(
            LogExtracts.EntryFor(extract, pseudonym, caller.ClientId(), request.RequestedBy!, request.Assessed == true, request.AssessmentReference),
            cancellationToken);

        if (WantsHtml(http.Request))
        {
            http.Response.Headers.ContentSecurityPolicy = ExtractDocument.ContentSecurityPolicy;
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers.CacheControl = "no-store";
            return TypedResults.Content(ExtractDocument.Render(extract, subject.Value.Value, zone), "text/html; charset=utf-8");
        }

        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(extract);
    }

    /// <summary>
    /// Domain.md section 7, after 1177's proxy access: guardians act for a young child; from 13 a guardian's request needs
    /// an assessment, and the child's own access begins at 16 (before that, an assessment too); an adult has no guardian;
    /// a child with protected identity is never served by proxy. Refusals are 422 with fixed phrases.
    /// </summary>
    private static ProblemHttpResult? ProxyRule(LogExtractRequest r, int age)
    {
        var assessed = r.Assessed == true;
        string? detail = r.Requester switch
        {
            ExtractRequester.Guardian when r.ProtectedIdentity == true =>
                "A child with protected identity is never served by proxy: the extract is not given to a guardian.",
            ExtractRequester.Guardian when age >= 18 => "The subject is an adult: the extract is for the subject to ask.",
            ExtractRequester.Guardian when age >= 13 && !assessed =>
                "A guardian's request about a child of 13 or more needs an assessment: send assessed with its reference.",
            ExtractRequester.Subject when age < 16 && !assessed =>
                "A child's own request before 16 needs an assessment: send assessed with its reference.",
            _ => null,
        };
        return detail is null ? null : TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "The extract cannot be given as asked", detail: detail);
    }

    private static bool WantsHtml(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    private static async Task<Results<Ok<FlaggedPage>, ValidationProblem, ProblemHttpResult>> Reviews(
        string unitId, bool? includeReviewed, int? limit, ClaimsPrincipal caller, ReviewQueue queue, CancellationToken cancellationToken)
    {
        if (!caller.HasDuty(Duties.DisclosureReview))
        {
            return NoDuty();
        }

        if (!caller.ActsFor(unitId))
        {
            return NotYourUnit(unitId);
        }

        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"must be 1 to {MaxListLimit}"] }, title: "The listing is not valid");
        }

        return TypedResults.Ok(await queue.ListAsync(unitId, includeReviewed == true, limit ?? 100, cancellationToken));
    }

    private static async Task<Results<Ok<ReviewRecorded>, ValidationProblem, ProblemHttpResult>> Review(
        Guid messageId, ReviewRequest? request, ClaimsPrincipal caller, AccountabilityValidator validator, ReviewQueue queue, CancellationToken cancellationToken)
    {
        if (!caller.HasDuty(Duties.DisclosureReview))
        {
            return NoDuty();
        }

        var problems = validator.ValidateReview(request);
        if (problems.Any)
        {
            return Invalid(problems, "The review is not valid");
        }

        // Another principal's flagged disclosure, or none at all, answers alike: the caller learns nothing of either.
        if (await queue.FindFlaggedAsync(messageId, cancellationToken) is not { } decision || !caller.ActsFor(decision.SendingUnit))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such flagged disclosure",
                detail: "No flagged disclosure with that id was sent by a unit you act for.");
        }

        return await queue.ReviewAsync(decision, request!.Note!, request.ReviewedBy!, caller.ClientId(), cancellationToken) is { } recorded
            ? TypedResults.Ok(recorded)
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already reviewed", detail: "This disclosure has been reviewed; a review is not changed.");
    }

    /// <summary>
    /// Numbers per unit, no message ids, no subjects: a count says that a unit has flagged disclosures waiting, nothing of
    /// whom they are about, though a count that rises just after a report of concern says which unit reported. So a caller
    /// with the review duty sees its own units, a principal's operators its units, the hub's operators every unit, and a
    /// unit's system without the duty nothing.
    /// </summary>
    private static async Task<Results<Ok<IReadOnlyList<UnitReviewCount>>, ProblemHttpResult>> Overdue(
        ClaimsPrincipal caller, ReviewQueue queue, OrganisationRegistry registry, CancellationToken cancellationToken)
    {
        var operates = caller.Operates();
        if (!caller.HasDuty(Duties.DisclosureReview) && operates is null)
        {
            return NoDuty();
        }

        IReadOnlyList<string>? units = caller.HasDuty(Duties.DisclosureReview) ? caller.Units()
            : operates == OperatorScopes.Hub ? null
            : [.. registry.Document.Units.Where(unit => unit.Principal == operates).Select(unit => unit.Id)];
        return TypedResults.Ok(await queue.CountAsync(units, cancellationToken));
    }

    private static async Task<Results<Ok<FollowUpReport>, ValidationProblem, ProblemHttpResult>> FollowUp(
        FollowUpRequest? request, ClaimsPrincipal caller, AccountabilityValidator validator, LogFollowUps followUps, LedgerWriter ledger,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!caller.HasDuty(Duties.LogFollowUp))
        {
            return NoDuty();
        }

        var problems = validator.ValidateFollowUp(request);
        if (problems.Any)
        {
            return Invalid(problems, "The follow-up request is not valid");
        }

        if (!caller.ActsFor(request!.Unit!))
        {
            return NotYourUnit(request.Unit!);
        }

        var seed = request.Seed ?? (long)(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) & AccountabilityValidator.MaxSeed);
        var report = await followUps.BuildAsync(Guid.CreateVersion7(), request.Unit!, request.From!.Value, request.To!.Value,
            request.SampleSize ?? AccountabilityValidator.DefaultSampleSize, seed, cancellationToken);
        await ledger.AppendAsync(LogFollowUps.EntryFor(report, caller.ClientId(), request.RequestedBy!, clock.GetUtcNow()), cancellationToken);
        return TypedResults.Ok(report);
    }

    private static ValidationProblem Invalid(Problems problems, string title) =>
        TypedResults.ValidationProblem(problems.ToDictionary(), title: title, extensions: problems.Omitted > 0
            ? new Dictionary<string, object?> { ["moreProblems"] = problems.Omitted }
            : null);

    internal static ProblemHttpResult NoDuty()
    {
        AccessRefusals.MarkCurrent(AccessRefusals.NoDuty);
        return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not an accountability client",
            detail: "Your client system is not registered for this duty of the data controller's staff.");
    }

    // The unit is not repeated: it is the caller's text and could be anything, an identity number included.
    internal static ProblemHttpResult NotYourUnit(string unit)
    {
        AccessRefusals.MarkCurrent(AccessRefusals.NotYourUnit, unit);
        return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your unit", detail: "Your client system is not registered to act for that unit.");
    }
}
