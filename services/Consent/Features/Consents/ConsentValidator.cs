using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>A consent version, or the first problems with the request and how many more there were.</summary>
public sealed record ConsentValidation(ConsentRecord? Record, Dictionary<string, string[]> Errors, int Omitted)
{
    public void Deconstruct(out ConsentRecord? record, out Dictionary<string, string[]> errors)
    {
        record = Record;
        errors = Errors;
    }
}

/// <summary>
/// Problems up to a bound, and a count of the rest: one problem per list item would let a 900 KB request fill a 57 MB
/// answer. Messages are fixed phrases with field names, indexes, unit ids from the registry and limits: never what the
/// caller sent, which may be an identity number, a name or free text.
/// </summary>
public sealed class Problems(int max = Problems.DefaultMax)
{
    public const int DefaultMax = 20;

    private readonly Dictionary<string, List<string>> byField = new(StringComparer.Ordinal);

    public int Count { get; private set; }

    public int Omitted => Math.Max(0, Count - max);

    public bool Any => Count > 0;

    public void Add(string field, string message)
    {
        if (++Count > max)
        {
            return;
        }

        if (!byField.TryGetValue(field, out var messages))
        {
            byField[field] = messages = [];
        }

        messages.Add(message);
    }

    public Dictionary<string, string[]> ToDictionary() => byField.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>
/// Turns a request into a consent version, or says precisely what is wrong. The rules come from domain.md section 3
/// (the Skåne guidance on samtycke and its footnote 3, and SoL 3:6a for a child of 15). Every input is hostile: the
/// checks hold on their own, whatever guard stands in front, and their work is linear in the input (sets, no list
/// look-ups inside loops; oversized lists are refused before their items are looked at).
/// </summary>
public sealed class ConsentValidator(OrganisationRegistry registry, LegalBasisCatalog bases)
{
    public const int MaxUnits = 50;
    public const int MaxGrantors = 10;
    public const int MaxPurposes = 16;
    public const int MaxCategories = 32;
    public const int MaxUnitId = 100;
    public const int MaxName = 200;
    public const int MaxSituation = 4_000;
    public const int MaxJournalReference = 200;
    public const int MaxReason = 1_000;

    private static readonly GrantorRole[] ForAChild =
        [GrantorRole.Guardian, GrantorRole.TemporaryGuardian, GrantorRole.SpeciallyAppointedGuardian, GrantorRole.GodMan, GrantorRole.SocialCommittee];

    public string MaximumLengthProblem => $"a consent may last at most {bases.MaxConsentMonths} months from when it is given";

    /// <summary>
    /// Whether a change that does more than narrow, which is the consent given again today, lasts longer than the maximum
    /// from then (or from its start, if earlier): <see cref="Validate"/> holds a change to its start only, so that one
    /// recorded under the older rule with a start ahead can still be narrowed.
    /// </summary>
    public bool OutlastsTheMaximum(ConsentRecord change, DateTimeOffset now) =>
        change.ValidUntil > bases.LatestEnd(now < change.ValidFrom ? now : change.ValidFrom);

    public ConsentValidation Validate(RecordConsentRequest? r, Guid id, int version, DateTimeOffset now)
    {
        var problems = new Problems();
        if (r is null)
        {
            problems.Add("body", "send the consent as a JSON object");
            return new ConsentValidation(null, problems.ToDictionary(), problems.Omitted);
        }

        var subjectOk = PersonalIdentityNumber.TryParse(Bounded(r.SubjectId, 20), out var subject, out var subjectError);
        if (!subjectOk)
        {
            problems.Add("subjectId", $"the personal identity or co-ordination number {subjectError}");
        }

        var purposes = List(r.Purposes, "purposes", MaxPurposes, problems, "name at least one purpose: a consent is specific to a situation, never general");
        var categories = List(r.Categories, "categories", MaxCategories, problems, "name the information categories the consent covers");
        var sending = Units(r.SendingUnits, "sendingUnits", problems);
        var receiving = Units(r.ReceivingUnits, "receivingUnits", problems);
        if (Text(r.RecordingUnit, "recordingUnit", MaxUnitId, multiline: false, problems, "name the unit that records it")
            && !sending.Ids.Contains(r.RecordingUnit!) && !receiving.Ids.Contains(r.RecordingUnit!))
        {
            problems.Add("recordingUnit", "must be one of the sending or receiving units");
        }

        var validFrom = r.ValidFrom ?? now;
        if (r.ValidUntil is not { } validUntil)
        {
            problems.Add("validUntil", "a consent is never valid without an end date");
            validUntil = validFrom;
        }
        else if (validUntil <= validFrom)
        {
            problems.Add("validUntil", "must be after validFrom");
        }
        else if (validUntil > bases.LatestEnd(version == 1 && now < validFrom ? now : validFrom))
        {
            // A new consent counts from when it is given (the earlier of its start and now), so a start set years ahead
            // cannot stretch it. A change counts from its start as before: one recorded under the older rule with a start
            // ahead must still be narrowable.
            problems.Add("validUntil", MaximumLengthProblem);
        }

        Text(r.Situation, "situation", MaxSituation, multiline: true, problems, "describe the situation the consent is for");
        Text(r.JournalReference, "journalReference", MaxJournalReference, multiline: false, problems, "give the journal reference where the consent is documented");
        RecordedBy(r.RecordedBy, problems);
        if (r.ChangeReason is not null)
        {
            Text(r.ChangeReason, "changeReason", MaxReason, multiline: true, problems, null);
        }

        // The day the consent was given: it cannot be given after it is recorded, nor after it starts to apply.
        var givenOn = SecrecyGate.SwedishDay(validFrom < now ? validFrom : now);
        // A new consent is judged on the subject's age today as well; a change is not, so that a consent made while the
        // subject was a child can still be narrowed once they are of age (the gate counts no guardian's yes by then anyway).
        DateOnly? today = version == 1 ? SecrecyGate.SwedishDay(now) : null;
        var grantors = Grantors(r, subjectOk ? subject : null, givenOn, today, purposes, categories, receiving.Units, problems);
        if (problems.Any)
        {
            return new ConsentValidation(null, problems.ToDictionary(), problems.Omitted);
        }

        return new ConsentValidation(new ConsentRecord
        {
            Id = id,
            Version = version,
            State = ConsentState.Active,
            SubjectId = subject!.Value.Value,
            Grantors = grantors,
            BothGuardiansRequired = r.BothGuardiansRequired,
            Purposes = purposes.Distinct().ToList(),
            SendingUnits = sending.Units.Select(u => u.Id).ToList(),
            ReceivingUnits = receiving.Units.Select(u => u.Id).ToList(),
            Categories = categories.Distinct().ToList(),
            ValidFrom = validFrom,
            ValidUntil = validUntil,
            Situation = r.Situation!,
            JournalReference = r.JournalReference!,
            RecordedBy = r.RecordedBy!,
            RecordingUnit = r.RecordingUnit!,
            RecordedAt = now,
            ChangeReason = r.ChangeReason,
        }, [], 0);
    }

    /// <summary>The fields of a revocation, on the same terms as a consent's.</summary>
    public Problems ValidateRevocation(RevokeConsentRequest? r)
    {
        var problems = new Problems();
        if (r is null)
        {
            problems.Add("body", "send the revocation as a JSON object");
            return problems;
        }

        RecordedBy(r.RecordedBy, problems);
        Text(r.RecordingUnit, "recordingUnit", MaxUnitId, multiline: false, problems, "name the unit that records the revocation");
        if (r.JournalReference is not null)
        {
            Text(r.JournalReference, "journalReference", MaxJournalReference, multiline: false, problems, null);
        }

        if (r.Reason is not null)
        {
            Text(r.Reason, "reason", MaxReason, multiline: true, problems, null);
        }

        return problems;
    }

    /// <summary>How far ahead a custody change may be told: a decision already taken, not a plan.</summary>
    public static readonly TimeSpan MaxCustodyLead = TimeSpan.FromDays(31);

    /// <summary>
    /// The fields of a custody change, on the same terms as a consent's. The numbers come back normalised (12 digits);
    /// no problem repeats them.
    /// </summary>
    public (Problems Problems, string? Subject, string? Grantor, DateTimeOffset From) ValidateCustodyChange(CustodyChangeRequest? r, DateTimeOffset now)
    {
        var problems = new Problems();
        if (r is null)
        {
            problems.Add("body", "send the custody change as a JSON object");
            return (problems, null, null, now);
        }

        var subjectOk = PersonalIdentityNumber.TryParse(Bounded(r.SubjectId, 20), out var subject, out var subjectError);
        if (!subjectOk)
        {
            problems.Add("subjectId", $"the personal identity or co-ordination number {subjectError}");
        }

        var grantorOk = PersonalIdentityNumber.TryParse(Bounded(r.GrantorId, 20), out var grantor, out var grantorError);
        if (!grantorOk)
        {
            problems.Add("grantorId", $"the grantor's personal identity or co-ordination number {grantorError}");
        }
        else if (subjectOk && grantor!.Value.Value == subject!.Value.Value)
        {
            problems.Add("grantorId", "must be the grantor's number, not the subject's: a subject's own consent has no custody to change");
        }

        var from = r.NoLongerGuardianFrom ?? now;
        if (from > now + MaxCustodyLead)
        {
            problems.Add("noLongerGuardianFrom", $"may be at most {MaxCustodyLead.TotalDays:0} days ahead");
        }

        RecordedBy(r.RecordedBy, problems);
        Text(r.RecordingUnit, "recordingUnit", MaxUnitId, multiline: false, problems, "name the unit that records the custody change");
        if (r.JournalReference is not null)
        {
            Text(r.JournalReference, "journalReference", MaxJournalReference, multiline: false, problems, null);
        }

        return (problems, subjectOk ? subject!.Value.Value : null, grantorOk ? grantor!.Value.Value : null, from);
    }

    /// <summary>
    /// Who recorded it, as an HSA id (the same rule as the sending API's acting user). Never an identity number: the
    /// ledger that keeps it is append-only and can never be cleaned.
    /// </summary>
    private static void RecordedBy(string? value, Problems problems)
    {
        if (Text(value, "recordedBy", HsaId.MaxLength, multiline: false, problems, "say who recorded it, by HSA id")
            && HsaId.Check(value) is { } problem)
        {
            problems.Add("recordedBy", problem);
        }
    }

    /// <summary>
    /// A required (or, with no <paramref name="missing"/> message, optional but present) text field: bounded, and free of
    /// control characters and broken surrogates (a NUL stalls PostgreSQL; an escape sequence rewrites a terminal). Free
    /// text may keep its line breaks and tabs.
    /// </summary>
    internal static bool Text(string? value, string field, int max, bool multiline, Problems problems, string? missing)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            problems.Add(field, missing ?? "must not be blank");
            return false;
        }

        if (value.Length > max)
        {
            problems.Add(field, $"may be at most {max} characters");
            return false;
        }

        if (!IsClean(value, multiline))
        {
            problems.Add(field, multiline
                ? "must not contain control characters (other than line breaks and tabs) or broken surrogates"
                : "must not contain control characters or broken surrogates");
            return false;
        }

        return true;
    }

    internal static bool IsClean(string value, bool multiline)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t'))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string? Bounded(string? value, int max) => value is { Length: > 0 } && value.Length > max ? "" : value;

    private static List<T> List<T>(IReadOnlyList<T>? items, string field, int max, Problems problems, string missing)
    {
        if (items is not { Count: > 0 })
        {
            problems.Add(field, missing);
            return [];
        }

        if (items.Count > max)
        {
            problems.Add(field, $"may list at most {max}");
            return [];
        }

        return [.. items];
    }

    private (List<Unit> Units, HashSet<string> Ids) Units(IReadOnlyList<string?>? ids, string field, Problems problems)
    {
        var units = new List<Unit>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (ids is not { Count: > 0 })
        {
            problems.Add(field, "name at least one unit");
            return (units, seen);
        }

        if (ids.Count > MaxUnits)
        {
            problems.Add(field, $"may list at most {MaxUnits} units");
            return (units, seen);
        }

        for (var i = 0; i < ids.Count; i++)
        {
            var itemField = $"{field}[{i}]";
            if (!Text(ids[i], itemField, MaxUnitId, multiline: false, problems, "must be a unit id"))
            {
                continue;
            }

            if (registry.FindUnit(ids[i]!) is not { } unit)
            {
                problems.Add(itemField, "is not a unit the hub knows");
            }
            else if (seen.Add(unit.Id))
            {
                units.Add(unit);
            }
        }

        return (units, seen);
    }

    private List<Grantor> Grantors(
        RecordConsentRequest r, PersonalIdentityNumber? subject, DateOnly givenOn, DateOnly? today, List<Contracts.Disclosures.Purpose> purposes,
        List<Contracts.Disclosures.InformationCategory> categories, List<Unit> receiving, Problems problems)
    {
        if (r.Grantors is not { Count: > 0 })
        {
            problems.Add("grantors", "record who gave the consent, each with their own answer");
            return [];
        }

        if (r.Grantors.Count > MaxGrantors)
        {
            problems.Add("grantors", $"may list at most {MaxGrantors} grantors");
            return [];
        }

        var proposed = categories.ToHashSet();
        var grantors = new List<(Grantor Grantor, int Index)>();
        for (var i = 0; i < r.Grantors.Count; i++)
        {
            var g = r.Grantors[i];
            var field = $"grantors[{i}]";
            if (g is null || g.Role is not { } role || g.Answer is not { } answer)
            {
                problems.Add(field, "needs role, name and answer (Yes, No or Partial)");
                continue;
            }

            if (!Text(g.Name, field, MaxName, multiline: false, problems, "needs role, name and answer (Yes, No or Partial)"))
            {
                continue;
            }

            if (role == GrantorRole.FosterParent)
            {
                problems.Add(field, "foster parents and residential staff without a specific appointment may not consent for a child");
            }

            if (g.CoveredCategories is { Count: > MaxCategories })
            {
                problems.Add(field, $"may list at most {MaxCategories} covered categories");
            }
            else if (answer == ConsentAnswer.Partial && g.CoveredCategories is not { Count: > 0 })
            {
                problems.Add(field, "a partial answer must list the categories it covers");
            }
            else if (answer == ConsentAnswer.Partial && !g.CoveredCategories!.All(proposed.Contains))
            {
                problems.Add(field, "a partial answer can only cover categories the consent proposes");
            }
            else if (answer != ConsentAnswer.Partial && g.CoveredCategories is { Count: > 0 })
            {
                problems.Add(field, "only a partial answer lists covered categories");
            }

            string? identityNumber = null;
            if (g.IdentityNumber is not null)
            {
                if (!PersonalIdentityNumber.TryParse(Bounded(g.IdentityNumber, 20), out var number, out var numberError))
                {
                    problems.Add(field, $"the grantor's personal identity or co-ordination number {numberError}");
                }
                else if (subject is { } about && number.Value.Value == about.Value && role != GrantorRole.Subject)
                {
                    problems.Add(field, "only the subject themself is recorded with the subject's own number");
                }
                else if (subject is { } self && number.Value.Value != self.Value && role == GrantorRole.Subject)
                {
                    // Else a parent entered as the subject would pass for the child's own consent, which no custody change reaches.
                    problems.Add(field, "the subject is recorded with the subject's own number or none");
                }
                else
                {
                    identityNumber = number.Value.Value;
                }
            }

            grantors.Add((new Grantor(role, g.Name!, answer, answer == ConsentAnswer.Partial ? g.CoveredCategories : null, identityNumber), i));
        }

        if (subject is { } s)
        {
            var age = s.AgeOn(givenOn);
            var rule = bases.ChildsOwnConsent;
            foreach (var (g, i) in grantors)
            {
                var field = $"grantors[{i}]";
                // Nor, once the subject is of age, for a child that was: a window starting earlier does not bring custody back.
                if ((age >= ChildsOwnConsentRule.AdultAge || (today is { } day && s.AgeOn(day) >= ChildsOwnConsentRule.AdultAge)) && g.Role != GrantorRole.Subject)
                {
                    problems.Add(field, "an adult consents for themself");
                }
                else if (age < ChildsOwnConsentRule.AdultAge && g.Role == GrantorRole.Subject)
                {
                    ChildsOwnConsent(rule, age, purposes, receiving, field, problems);
                }
                else if (age < ChildsOwnConsentRule.AdultAge && g.Role != GrantorRole.Subject && !ForAChild.Contains(g.Role) && g.Role != GrantorRole.FosterParent)
                {
                    problems.Add(field, "a child's consent is given by a guardian, god man or the social committee");
                }
            }
        }

        // Each person answers once: a grantor listed again would count twice where both guardians must consent.
        foreach (var (_, index) in grantors.Where((g, i) => grantors.Take(i).Any(earlier => SecrecyGate.SamePerson(earlier.Grantor, g.Grantor))))
        {
            problems.Add($"grantors[{index}]", "lists a grantor already listed (the same identity number, or the same name where not both are numbered)");
        }

        if (r.BothGuardiansRequired && SecrecyGate.People(grantors.Select(g => g.Grantor).Where(g => SecrecyGate.IsGuardian(g.Role))) < 2)
        {
            problems.Add("grantors", "both guardians must be recorded when bothGuardiansRequired is set");
        }

        return grantors.Select(g => g.Grantor).ToList();
    }

    /// <summary>
    /// A child may consent alone only from the rule's age (on the day the consent is given), and only to its purposes
    /// towards its receivers (SoL 3:6a in the 2001 act: open interventions from social services). Anything else needs
    /// the guardians, or another grantor the law names.
    /// </summary>
    private static void ChildsOwnConsent(
        ChildsOwnConsentRule rule, int age, List<Contracts.Disclosures.Purpose> purposes, List<Unit> receiving, string field, Problems problems)
    {
        if (age < rule.MinimumAge)
        {
            problems.Add(field, $"a child may consent alone only from {rule.MinimumAge}, judged on the day the consent is given (rule {rule.Id}: {rule.Citation})");
            return;
        }

        foreach (var purpose in purposes.Distinct())
        {
            if (receiving.FirstOrDefault(u => !rule.Covers(purpose, u.Operation)) is { } unit)
            {
                problems.Add(field, $"a child's own consent cannot cover {purpose} to unit {unit.Id}: it covers only {string.Join(", ", rule.Purposes)} " +
                    $"to {string.Join(", ", rule.Receivers)} (rule {rule.Id}: {rule.Citation})");
            }
        }
    }
}
