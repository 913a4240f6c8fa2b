using System.Security.Claims;
using FamiljecentralHub.Consent.Features.Fhir;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FamiljecentralHub.Consent.Features.Consents;

public sealed record ConsentCreated(Guid Id, int Version);

/// <summary>
/// What a unit named in a consent only as a receiver may read: enough to know whether messages it holds still have a
/// basis, never who the consent is about, who gave it, the situation or where it is documented.
/// </summary>
public sealed record ConsentView(
    Guid Id,
    int Version,
    ConsentState State,
    DateTimeOffset ValidFrom,
    DateTimeOffset ValidUntil,
    IReadOnlyList<string> SendingUnits,
    IReadOnlyList<string> ReceivingUnits,
    IReadOnlyList<Purpose> Purposes,
    IReadOnlyList<InformationCategory> Categories)
{
    public static ConsentView Of(ConsentRecord c) =>
        new(c.Id, c.Version, c.State, c.ValidFrom, c.ValidUntil, c.SendingUnits, c.ReceivingUnits, c.Purposes, c.Categories);
}

/// <summary>
/// The consent registry. Secrecy is broken by the disclosing unit, which must have the basis (OSL 10:1 and 12:2; the Skåne
/// guidance: "den som lämnar ut … måste känna sig trygg med att samtycke finns"): only a client acting for a sending unit
/// records a consent or widens it. Revoking or narrowing only stops disclosures, so any unit the consent names may do that
/// (<see cref="ConsentNarrowing"/>). Each version says who made it, when, from which client system and where it is
/// documented, and is written to the ledger (docs/secrecy-gate.md).
/// </summary>
internal static class ConsentApi
{
    public static IEndpointRouteBuilder MapConsentApi(this IEndpointRouteBuilder app)
    {
        var consents = app.MapGroup("/consents");
        consents.MapPost("/", Record)
            .RefuseDutyHolders()
            .WithSummary("Records a consent: who gave it, for which units, purposes, categories and period; by a unit that discloses under it.");
        consents.MapGet("/{id:guid}", Get)
            .WithSummary("The consent's current version: whole for a disclosing unit, what it permits only for a receiving unit.");
        consents.MapGet("/{id:guid}/history", History)
            .WithSummary("Every version of the consent, oldest first, as Get shows it to the caller.");
        consents.MapGet("/{id:guid}/fhir", HistoryAsFhir)
            .WithSummary("Every version of the consent as a FHIR R4 history bundle of Consent resources; for a disclosing unit.");
        consents.MapPut("/{id:guid}", Change)
            .RefuseDutyHolders()
            .WithSummary("Changes the consent as a new version; a receiving unit may only narrow it.");
        consents.MapPost("/{id:guid}/revoke", Revoke)
            .RefuseDutyHolders()
            .WithSummary("Revokes the consent: nothing more is disclosed under it, unfetched deliveries are withdrawn, receivers told.");
        return app;
    }

    /// <summary>How many consents not ended one unit may disclose under for one subject.</summary>
    internal const int MaxInForcePerSubject = 50;

    /// <summary>
    /// How many versions of one consent one unit may record. Every gate decision about the subject reads its consents'
    /// versions, so a unit changing one without end would slow the gate for every unit's disclosures about the child,
    /// reports of concern included. Counted per unit, so that a receiver spending its own cannot stop the discloser's
    /// changes, nor the other receivers' "no"s. Real consents change a few times; a revocation is still taken past it.
    /// </summary>
    internal const int MaxVersionsPerUnit = 50;

    private static async Task<Results<Created<ConsentCreated>, ValidationProblem, ProblemHttpResult>> Record(
        RecordConsentRequest? request, ClaimsPrincipal caller, ConsentValidator validator, ConsentStore store, ConsentLedger ledger,
        CoverageWithdrawals withdrawals, Pseudonymizer pseudonyms, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = validator.Validate(request, Guid.CreateVersion7(), 1, clock.GetUtcNow());
        if (validation.Record is not { } record)
        {
            return Invalid(validation.Errors, validation.Omitted, "The consent is not valid");
        }

        if (!caller.ActsFor(record.RecordingUnit))
        {
            return NotYourUnit(record.RecordingUnit);
        }

        // Each sending unit's secrecy is broken by that unit: a receiver naming itself a sender too, beside the unit it
        // wants disclosures from, is not that unit's discloser.
        var notActedFor = record.SendingUnits.FirstOrDefault(unit => !caller.ActsFor(unit));
        if (!record.SendingUnits.Contains(record.RecordingUnit) || notActedFor is not null)
        {
            AccessRefusals.MarkCurrent(AccessRefusals.DiscloserOnly, notActedFor ?? record.RecordingUnit);
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Only a disclosing unit records a consent",
                detail: "Secrecy is broken by the unit that discloses: record the consent from one of its sending units, " +
                    "and name as sending units only units your client system acts for.");
        }

        // Every decision about the subject reads all their consents: a client recording them without end would slow each
        // one, other principals' reports of concern included. A family has a handful, not hundreds. Counted per disclosing
        // unit, so that one unit's client cannot use up what another principal's units may record.
        var unitsOwn = (await store.CurrentForSubjectAsync(pseudonyms.For(record.SubjectId), cancellationToken))
            .Count(c => c.State == ConsentState.Active && clock.GetUtcNow() < c.ValidUntil && c.SendingUnits.Contains(record.RecordingUnit));
        if (unitsOwn >= MaxInForcePerSubject)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Too many consents in force",
                detail: $"This unit already discloses under {MaxInForcePerSubject} consents not ended for the subject: revoke those no longer needed, or change one.");
        }

        record = record with { Change = ConsentChange.Recorded, ActingSystem = caller.ClientId() };
        await store.AddVersionAsync(record, cancellationToken);
        await ledger.RecordAsync(record, cancellationToken);
        if (record.Grantors.Any(g => g.Answer is ConsentAnswer.No or ConsentAnswer.Partial))
        {
            // A "no", or an answer in part, limits the subject's other consents for its situation from now on (domain.md
            // section 3: a change takes effect at once), so what they let through and the receiving system has not fetched
            // is withdrawn.
            await withdrawals.TrySweepVersionAsync(record, pseudonyms.For(record.SubjectId), cancellationToken);
        }

        return TypedResults.Created($"/consent/consents/{record.Id}", new ConsentCreated(record.Id, record.Version));
    }

    /// <summary>The whole consent for a unit that discloses under it; for a unit it names only as a receiver, the minimal view.</summary>
    private static async Task<Results<Ok<ConsentRecord>, Ok<ConsentView>, ProblemHttpResult>> Get(
        Guid id, ClaimsPrincipal caller, ConsentStore store, CancellationToken cancellationToken)
    {
        var current = await store.CurrentAsync(id, cancellationToken);
        return Reader(caller, current) switch
        {
            ConsentReader.Discloser => TypedResults.Ok(current!),
            ConsentReader.Receiver => TypedResults.Ok(ConsentView.Of(current!)),
            _ => NotFound(),
        };
    }

    private static async Task<Results<Ok<IReadOnlyList<ConsentRecord>>, Ok<IReadOnlyList<ConsentView>>, ProblemHttpResult>> History(
        Guid id, ClaimsPrincipal caller, ConsentStore store, CancellationToken cancellationToken)
    {
        var history = await store.HistoryAsync(id, cancellationToken);
        return Reader(caller, history.Count > 0 ? history[^1] : null) switch
        {
            ConsentReader.Discloser => TypedResults.Ok(history),
            // Only the versions that named one of its units: a unit added as a receiver later does not learn through the
            // history which other units the family had contact with before (OSL 26:1).
            ConsentReader.Receiver => TypedResults.Ok<IReadOnlyList<ConsentView>>(
                history.Where(v => caller.Units().Any(v.Names)).Select(ConsentView.Of).ToList()),
            _ => NotFound(),
        };
    }

    /// <summary>
    /// Every version as a FHIR R4 history bundle (<see cref="FhirConsents"/>), for a unit that discloses under the consent:
    /// the export names the subject and the grantors, which a unit named only as a receiver may not learn.
    /// </summary>
    private static async Task<Results<FhirResult, ProblemHttpResult>> HistoryAsFhir(
        Guid id, ClaimsPrincipal caller, ConsentStore store, OrganisationRegistry organisation, CancellationToken cancellationToken)
    {
        var history = await store.HistoryAsync(id, cancellationToken);
        return Reader(caller, history.Count > 0 ? history[^1] : null) switch
        {
            ConsentReader.Discloser => new FhirResult(FhirConsents.History(history, organisation)),
            ConsentReader.Receiver => OnlyTheDiscloserExports(),
            _ => NotFound(),
        };
    }

    /// <summary>
    /// A change is a new version: the old one stays, and the gate uses the newest from this moment on. A unit that
    /// discloses under the consent, before and after, may change anything but the subject; any other unit it names only
    /// what narrows it.
    /// </summary>
    private static async Task<Results<Ok<ConsentCreated>, ValidationProblem, ProblemHttpResult>> Change(
        Guid id, RecordConsentRequest? request, ClaimsPrincipal caller, ConsentValidator validator, ConsentStore store, ConsentLedger ledger,
        SecrecyGate gate, CoverageWithdrawals withdrawals, Pseudonymizer pseudonyms, TimeProvider clock, CancellationToken cancellationToken)
    {
        var current = await store.CurrentAsync(id, cancellationToken);
        if (current is null || !caller.Units().Any(current.Names))
        {
            return NotFound();
        }

        // A change does not restart the consent: without a new validFrom it keeps the one it had.
        var validation = validator.Validate(request is null ? null : request with { ValidFrom = request.ValidFrom ?? current.ValidFrom },
            id, current.Version + 1, clock.GetUtcNow());
        if (validation.Record is not { } record)
        {
            return Invalid(validation.Errors, validation.Omitted, "The consent is not valid");
        }

        // A unit named only as a receiver never sees whom the consent is about, so its change is of the consent's own
        // subject, whatever number it sent: the body is checked as sent (its errors can only echo what the receiver wrote)
        // and no answer turns on whether the number was right, or a receiver could find the subject by trying numbers.
        // Nor who gave it: its change keeps the grantors and their answers as they stand, and the rule that both guardians
        // must consent once set, and takes from its body only the refusals told to it (a guardian may withdraw wherever
        // they are): a "no" is added as the grantor's answer; an answer in part narrows the categories the consent asks
        // about (added as an answer it would let through, without the number the receiver cannot know, it would escape a
        // custody change). So no answer turns on a guess at a grantor's role or number (a social committee's, under LVU).
        var receiver = Reader(caller, current) != ConsentReader.Discloser;
        if (receiver)
        {
            record = record with
            {
                SubjectId = current.SubjectId,
                // Once the consent holds a "no" it covers nothing and vetoes its situation: another adds nothing, and
                // taking them without end would let a receiver grow the consent every gate decision reads.
                Grantors = current.Grantors.Any(g => g.Answer == ConsentAnswer.No)
                    ? current.Grantors
                    : [.. current.Grantors, .. record.Grantors.Where(g => g.Answer == ConsentAnswer.No)],
                Categories = record.Grantors.Where(g => g.Answer == ConsentAnswer.Partial)
                    .Aggregate(record.Categories, (categories, g) => [.. categories.Intersect(g.CoveredCategories ?? [])]),
                BothGuardiansRequired = current.BothGuardiansRequired || record.BothGuardiansRequired,
            };
        }

        if (!caller.ActsFor(record.RecordingUnit))
        {
            return NotYourUnit(record.RecordingUnit);
        }

        if (current.State != ConsentState.Active)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Consent revoked",
                detail: "A revoked consent cannot be changed; record a new consent.");
        }

        if (request!.ExpectedVersion != current.Version)
        {
            return VersionConflict(current.Version);
        }

        if (await store.VersionsRecordedAtAsync(id, record.RecordingUnit, cancellationToken) >= MaxVersionsPerUnit)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Too many versions",
                detail: $"A unit may record at most {MaxVersionsPerUnit} versions of one consent; it may still revoke it.");
        }

        if (record.SubjectId != current.SubjectId)
        {
            return Invalid(new() { ["subjectId"] = ["a consent cannot be moved to another subject"] }, 0, "The consent is not valid");
        }

        // What a receiver sees it may only keep or take from: a unit, purpose or category more, or a longer period, is 403
        // whatever the consent's answers (were it judged on them, a consent holding a "no", which covers nothing, would
        // take a category more and tell the receiver so).
        if (receiver && !WithinWhatItCovers(record, current))
        {
            return OnlyTheDiscloserWidens();
        }

        // Narrowing both as recorded and as the gate reads it with custody changes applied: the second alone would miss a
        // widening for the days before a custody change dated ahead, the first alone a former guardian's number rewritten.
        var marked = await store.WithCustodyAsync(pseudonyms.For(record.SubjectId), [current, record], cancellationToken);
        var others = await store.CurrentForSubjectAsync(pseudonyms.For(record.SubjectId), cancellationToken);
        var narrowing = ConsentNarrowing.IsNarrowing(current, record, gate, others) && ConsentNarrowing.IsNarrowing(marked[0], marked[1], gate, others);
        if (!narrowing && !Discloses(current, record, caller, record.RecordingUnit))
        {
            return OnlyTheDiscloserWidens();
        }

        if (!narrowing && validator.OutlastsTheMaximum(record, clock.GetUtcNow()))
        {
            return Invalid(new() { ["validUntil"] = [validator.MaximumLengthProblem] }, 0, "The consent is not valid");
        }

        record = record with { Change = narrowing ? ConsentChange.Narrowed : ConsentChange.Changed, ActingSystem = caller.ClientId() };
        if (!await store.AddVersionAsync(record, cancellationToken))
        {
            return VersionConflict(current.Version);
        }

        await ledger.RecordAsync(record, cancellationToken);
        // What the new version no longer covers is withdrawn as a revocation withdraws it (CoverageWithdrawals).
        await withdrawals.TrySweepVersionAsync(record, pseudonyms.For(record.SubjectId), cancellationToken);
        return TypedResults.Ok(new ConsentCreated(record.Id, record.Version));
    }

    /// <summary>
    /// Revocation takes effect at once: the gate reads the newest version of every consent it relies on. Any unit the
    /// consent names may revoke it, unless it holds a recorded "no": that vetoes other consents for the same situation,
    /// and lifting it is for a disclosing unit.
    /// </summary>
    private static async Task<Results<Ok<ConsentCreated>, ValidationProblem, ProblemHttpResult>> Revoke(
        Guid id, RevokeConsentRequest? request, ClaimsPrincipal caller, ConsentValidator validator, ConsentStore store, ConsentLedger ledger,
        RevocationAnnouncer announcer, CoverageWithdrawals withdrawals, Pseudonymizer pseudonyms, SecrecyGate gate, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var current = await store.CurrentAsync(id, cancellationToken);
        if (current is null || !caller.Units().Any(current.Names))
        {
            return NotFound();
        }

        var problems = validator.ValidateRevocation(request);
        if (!problems.Any && !current.SendingUnits.Contains(request!.RecordingUnit!) && !current.ReceivingUnits.Contains(request.RecordingUnit!))
        {
            problems.Add("recordingUnit", "must be a unit the consent names");
        }

        if (problems.Any)
        {
            return Invalid(problems.ToDictionary(), problems.Omitted, "The revocation is not valid");
        }

        if (!caller.ActsFor(request!.RecordingUnit!))
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
            // Not the consent's own reference: that is where another unit, perhaps, documented something else.
            JournalReference = request.JournalReference ?? "not given",
            RecordedAt = clock.GetUtcNow(),
            ChangeReason = request.Reason ?? "revoked",
            Change = ConsentChange.Revoked,
            ActingSystem = caller.ClientId(),
        };
        var others = await store.CurrentForSubjectAsync(pseudonyms.For(current.SubjectId), cancellationToken);
        if (!ConsentNarrowing.IsNarrowing(current, revoked, gate, others) && !Discloses(current, revoked, caller, revoked.RecordingUnit))
        {
            return OnlyTheDiscloserWidens();
        }

        if (!await store.AddVersionAsync(revoked, cancellationToken))
        {
            return VersionConflict(current.Version);
        }

        await ledger.RecordAsync(revoked, cancellationToken);
        await announcer.TryAnnounceAsync(revoked, cancellationToken);
        // What this consent alone still covered under another consent's permit (one narrowed before) is withdrawn too.
        await withdrawals.TrySweepVersionAsync(revoked, pseudonyms.For(revoked.SubjectId), cancellationToken);
        return TypedResults.Ok(new ConsentCreated(revoked.Id, revoked.Version));
    }

    private enum ConsentReader
    {
        None,
        Receiver,
        Discloser,
    }

    /// <summary>
    /// A client registered for the data controller's duties (log follow-up, say) reads a consent of its units as a
    /// receiving unit does, what it permits: its audit-event export names no subject and no grantor (domain.md section 8),
    /// and the consent it refers to must not add them back.
    /// </summary>
    private static ConsentReader Reader(ClaimsPrincipal caller, ConsentRecord? current)
    {
        if (current is null)
        {
            return ConsentReader.None;
        }

        var units = caller.Units();
        return units.Any(current.SendingUnits.Contains) && !caller.HoldsAnyDuty() ? ConsentReader.Discloser
            : units.Any(current.Names) ? ConsentReader.Receiver
            : ConsentReader.None;
    }

    /// <summary>
    /// The recording unit discloses under the consent both as it stood and as it will stand, and the caller acts for every
    /// unit that will disclose under it: a change that lets more through does so for each of its sending units.
    /// </summary>
    private static bool Discloses(ConsentRecord before, ConsentRecord after, ClaimsPrincipal caller, string unit) =>
        before.SendingUnits.Contains(unit) && after.SendingUnits.Contains(unit) && after.SendingUnits.All(caller.ActsFor);

    private static ValidationProblem Invalid(Dictionary<string, string[]> errors, int omitted, string title) =>
        TypedResults.ValidationProblem(errors, title: title, extensions: omitted > 0
            ? new Dictionary<string, object?> { ["moreProblems"] = omitted }
            : null);

    private static ProblemHttpResult NotFound() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "No such consent", detail: "No consent with that id names a unit you act for.");

    // The unit is not repeated: it is the caller's text and could be anything, an identity number included.
    private static ProblemHttpResult NotYourUnit(string unit)
    {
        AccessRefusals.MarkCurrent(AccessRefusals.NotYourUnit, unit);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status403Forbidden, title: "Not your unit", detail: "Your client system is not registered to act for the recording unit.");
    }

    private static ProblemHttpResult OnlyTheDiscloserExports()
    {
        AccessRefusals.MarkCurrent(AccessRefusals.DiscloserOnly);
        return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Only a disclosing unit exports a consent",
            detail: "Only a unit that discloses under the consent may export it: the export names the subject and the grantors.");
    }

    private static bool WithinWhatItCovers(ConsentRecord changed, ConsentRecord current) =>
        changed.SendingUnits.All(current.SendingUnits.Contains) && changed.ReceivingUnits.All(current.ReceivingUnits.Contains)
        && changed.Purposes.All(current.Purposes.Contains) && changed.Categories.All(current.Categories.Contains)
        && changed.ValidFrom >= current.ValidFrom && changed.ValidUntil <= current.ValidUntil;

    private static ProblemHttpResult OnlyTheDiscloserWidens()
    {
        AccessRefusals.MarkCurrent(AccessRefusals.DiscloserOnly);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status403Forbidden, title: "Only a disclosing unit widens a consent",
            detail: "A unit named only as a receiver may narrow or revoke a consent, never let more through (nor lift a recorded no); " +
                "ask a sending unit to record the change.");
    }

    private static ProblemHttpResult VersionConflict(int current) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict, title: "The consent has changed",
        detail: $"The current version is {current}. Read it again and send expectedVersion {current}.");
}
