using System.Globalization;
using System.Security.Claims;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// What a custody change reached: the consents resting on the grantor that the recording unit discloses under (a unit
/// named only as a receiver is told none). The id names the change when there was one to take; the answer is alike when
/// there was none, so it confirms nothing to a unit that may not read the consents.
/// </summary>
public sealed record CustodyChangeRecorded(Guid Id, DateTimeOffset NoLongerGuardianFrom, IReadOnlyList<Guid> Consents);

/// <summary>
/// A unit tells the hub that a grantor no longer has custody of the subject (a court's custody decision, a god man's
/// appointment ended; not care under LVU, which leaves the guardians the guardians, the Skåne guidance's footnote 3).
/// The guardians of a child can change, and a consent recorded for guardians who are no longer the
/// guardians must not be relied on once the hub is told (domain.md section 3). The consents stay as staff recorded them;
/// the gate reads the grantor's yes as gone from the given time (<see cref="Gate.SecrecyGate"/>), and what was delivered
/// under them and is no longer covered is withdrawn or noticed (<see cref="CoverageWithdrawals"/>).
/// Like a revocation it only ever stops disclosures, so any unit named by a consent that rests on the grantor may tell
/// it: whoever learns of the decision first, at whichever operation, should not have to wait for the disclosing unit.
/// The answer must not tell a unit who a child's guardians are, nor whom its consents are about: it lists the consents
/// reached that the unit discloses under, and is otherwise the same 200 whether anything was reached or not.
/// </summary>
internal static class CustodyApi
{
    public static IEndpointRouteBuilder MapCustodyApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/custody-changes", Record)
            .RefuseDutyHolders()
            .WithSummary("Tells the hub that a grantor no longer acts for the subject; consents resting on that grantor are no longer used.");
        return app;
    }

    private static async Task<Results<Ok<CustodyChangeRecorded>, ValidationProblem, ProblemHttpResult>> Record(
        CustodyChangeRequest? request, ClaimsPrincipal caller, ConsentValidator validator, ConsentStore store, LedgerWriter ledger,
        CoverageWithdrawals withdrawals, Pseudonymizer pseudonyms, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (problems, subject, grantor, from) = validator.ValidateCustodyChange(request, now);
        if (problems.Any)
        {
            return TypedResults.ValidationProblem(problems.ToDictionary(), title: "The custody change is not valid", extensions: problems.Omitted > 0
                ? new Dictionary<string, object?> { ["moreProblems"] = problems.Omitted }
                : null);
        }

        var unit = request!.RecordingUnit!;
        if (!caller.ActsFor(unit))
        {
            // The unit is not repeated: it is the caller's text and could be anything, an identity number included.
            AccessRefusals.MarkCurrent(AccessRefusals.NotYourUnit, unit);
            return TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden, title: "Not your unit", detail: "Your client system is not registered to act for the recording unit.");
        }

        var subjectPseudonym = pseudonyms.For(subject!);
        var resting = (await store.CurrentForSubjectAsync(subjectPseudonym, cancellationToken))
            .Where(c => c.Grantors.Any(g => g.IdentityNumber == grantor && g.Role != GrantorRole.Subject))
            .ToList();
        // The answer lists only the consents the unit discloses under, which it reads whole, and is otherwise alike whether
        // or not a consent names the unit and records that person: a unit named only as a receiver never sees whom a consent
        // is about nor who gave it, and must not learn either by trying numbers here. The change is taken when they are.
        var seenWhole = resting.Where(c => c.SendingUnits.Contains(unit)).Select(c => c.Id).ToList();
        if (!resting.Any(c => c.Names(unit)))
        {
            return TypedResults.Ok(new CustodyChangeRecorded(Guid.CreateVersion7(), from, []));
        }

        var change = new CustodyChange(
            Guid.CreateVersion7(), subjectPseudonym, pseudonyms.For(grantor!), from, now, request.RecordedBy!, unit, caller.ClientId(), request.JournalReference);
        await store.AddCustodyChangeAsync(change, cancellationToken);
        // Every consent resting on the grantor is reached, not only those naming the caller's unit: custody is a fact
        // about the family. Each gets its own entry, so the ledger shows it beside that consent's versions and decisions.
        // The change is stored and the gate already reads it: its entries and sweep are not the client's to cut short by
        // going away (the request's token), or the ledger would lack what the gate decides on.
        foreach (var consent in resting)
        {
            await ledger.AppendAsync(Entry(change, consent, grantor!), CancellationToken.None);
        }

        if (from <= now)
        {
            await withdrawals.TrySweepCustodyAsync(change, CancellationToken.None);
        }

        return TypedResults.Ok(new CustodyChangeRecorded(change.Id, from, seenWhole));
    }

    /// <summary>
    /// Metadata only: the grantor by position, role and pseudonym, never their number or name. Who recorded the change is
    /// named only on the entries of consents that name its unit: the entry of another consent is shown to that consent's
    /// units (their audit events, their follow-up), and that a social services unit, say, knows of the family's custody is
    /// not theirs to learn (OSL 26:1).
    /// </summary>
    internal static LedgerEntry Entry(CustodyChange change, ConsentRecord consent, string grantorId)
    {
        var index = consent.Grantors.Select((g, i) => (g, i)).First(x => x.g.IdentityNumber == grantorId && x.g.Role != GrantorRole.Subject);
        var named = consent.Names(change.RecordingUnit);
        return new LedgerEntry
        {
            MessageId = EntryId(change.Id, consent.Id),
            Kind = LedgerKind.CustodyChanged,
            Outcome = LedgerOutcome.Recorded,
            SendingUnit = string.Join(',', consent.SendingUnits),
            ReceivingUnit = string.Join(',', consent.ReceivingUnits),
            ActingSystem = named ? change.ActingSystem : AnotherUnit,
            ActingUser = named ? change.RecordedBy : null,
            SubjectPseudonym = change.SubjectPseudonym,
            Purpose = string.Join(',', consent.Purposes),
            Categories = consent.Categories.Select(c => c.ToString()).ToArray(),
            ConsentId = consent.Id,
            Reasons =
            [
                named ? $"recorded at unit {change.RecordingUnit}" : "recorded at a unit this consent does not name",
                string.Create(CultureInfo.InvariantCulture,
                    $"grantor {index.i + 1} ({index.g.Role}) of version {consent.Version} no longer a guardian from {change.NoLongerGuardianFrom.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"),
                $"grantor pseudonym {change.GrantorPseudonym}",
            ],
            At = change.RecordedAt,
        };
    }

    /// <summary>The acting system of an entry whose change was recorded at a unit the consent does not name.</summary>
    internal const string AnotherUnit = "hub";

    /// <summary>One entry per custody change and consent, whoever writes it: a name-based id.</summary>
    private static Guid EntryId(Guid changeId, Guid consentId) => NameBasedId.Of($"custody-change:{changeId:N}:{consentId:N}");
}
