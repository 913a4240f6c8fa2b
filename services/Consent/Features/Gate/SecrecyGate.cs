using System.Globalization;
using System.Text;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Consent.Features.Gate;

/// <summary>The gate's answer. Reasons are fixed phrases with unit ids, dates and roles: never personal data.</summary>
public sealed record Decision(bool Permitted, string? Basis, Guid? ConsentId, bool FlaggedForReview, IReadOnlyList<string> Reasons)
{
    public static Decision Permit(string basis, Guid? consentId = null, bool review = false) => new(true, basis, consentId, review, []);

    public static Decision Refuse(IReadOnlyList<string> reasons) => new(false, null, null, false, reasons);
}

/// <summary>
/// The decision for one disclosure (domain.md section 5), as a pure function of the registry, the legal bases and
/// the subject's consents, so every rule can be tested without a broker or a database.
/// </summary>
public sealed class SecrecyGate(OrganisationRegistry registry, LegalBasisCatalog bases)
{
    public Decision Decide(SubmitDisclosure d, IReadOnlyList<ConsentRecord> consents, DateTimeOffset now)
    {
        var sender = registry.FindUnit(d.SendingUnit);
        var receiver = registry.FindUnit(d.ReceivingUnit);
        if (sender is null || receiver is null)
        {
            // Not repeated: a unit the registry does not know is only what the sender wrote.
            return Decision.Refuse([sender is null ? "unknown sending unit" : "unknown receiving unit"]);
        }

        if (AcceptsPurpose(sender, receiver, d.Purpose) is { } notAccepted)
        {
            return Decision.Refuse([notAccepted]);
        }

        // Consent is given category by category, so a message that names none would be covered by any consent for its units
        // and purpose, whatever it carries. The sending services always name them; this holds against one that does not.
        if (d.Categories is not { Count: > 0 })
        {
            return Decision.Refuse(["the message names no information category"]);
        }

        // Only a report of concern may name a child its sender cannot yet identify (the duty to report does not wait
        // for a personal identity number); everything else must say whom it is about.
        if (d.Purpose != Purpose.ReportOfConcern && !PersonalIdentityNumber.TryParse(d.SubjectId, out _, out _))
        {
            return Decision.Refuse(["the subject is not identified by a personal identity or co-ordination number"]);
        }

        // A report of concern about a child is the law's own basis: it needs no claim, no other claim can replace it, no
        // consent can stop it, and every one is flagged for review (even inside one secrecy area). The duty is to report
        // that a child is harmed (SoL 14:1), so a subject of age (the expectant parent included) is decided like any other
        // disclosure: her own consent, or for the expected child the protective basis with its written justification.
        var mandatoryReport = bases.Of(BasisKind.MandatoryReport);
        // And it is about the child its sender saw: judged on the day it was submitted, not on the day the gate could
        // decide it (a night with the consent database down must not turn a report made the evening before the 18th
        // birthday into a refusal). A time more than two days back is not taken on trust from a sending service.
        var reportedAt = d.Purpose == Purpose.ReportOfConcern && d.SubmittedAt < now && now - d.SubmittedAt <= ReportHeldAtMost ? d.SubmittedAt : now;
        var aboutAnAdult = IsOfAge(d.SubjectId, reportedAt);
        if (d.Purpose == Purpose.ReportOfConcern && !aboutAnAdult
            && mandatoryReport.AppliesTo(d.Purpose, sender, registry.PrincipalOf(sender).Kind, receiver))
        {
            return Decision.Permit(mandatoryReport.Id, review: true);
        }

        if (registry.InSameSecrecyArea(sender, receiver))
        {
            return Decision.Permit(bases.Of(BasisKind.SameSecrecyArea).Id);
        }

        var reasons = new List<string>();
        if (d.Purpose == Purpose.ReportOfConcern && aboutAnAdult)
        {
            reasons.Add($"basis {mandatoryReport.Id} is for a report about a child, and the subject is of age");
        }

        if (d.ClaimedBasis is { } claim)
        {
            var (decision, failure) = CheckClaim(claim, d.Purpose, sender, receiver, aboutAnAdult);
            if (decision is not null)
            {
                return decision;
            }

            if (!reasons.Contains(failure!))
            {
                reasons.Add(failure!); // a report of concern about an adult that claims the mandatory report says so once
            }
        }

        var consentDecision = CheckConsents(d, receiver, consents, now, reasons);
        return consentDecision ?? Decision.Refuse(reasons);
    }

    private static string? AcceptsPurpose(Unit sender, Unit receiver, Purpose purpose) =>
        AcceptedPurposes.Accepts(sender, receiver, purpose) ? null : $"unit {receiver.Id} does not accept {purpose} from unit {sender.Id}";

    private (Decision? Decision, string? Failure) CheckClaim(ClaimedBasis claim, Purpose purpose, Unit sender, Unit receiver, bool aboutAnAdult)
    {
        // Reasons go to the ledger, the status view and ops: they name catalogue ids only, never the sender's own text.
        var basis = bases.Find(claim.Basis);
        if (basis is null)
        {
            return (null, "the claimed basis is not one the hub knows");
        }

        if (basis.Kind is BasisKind.Consent or BasisKind.SameSecrecyArea)
        {
            return (null, $"basis {basis.Id} cannot be claimed by a sender");
        }

        if (!basis.AppliesTo(purpose, sender, registry.PrincipalOf(sender).Kind, receiver))
        {
            return (null, $"basis {basis.Id} does not apply to {purpose} from unit {sender.Id} to unit {receiver.Id}");
        }

        return basis.Kind switch
        {
            BasisKind.MandatoryReport => aboutAnAdult ? (null, $"basis {basis.Id} is for a report about a child, and the subject is of age")
                : (Decision.Permit(basis.Id, review: true), null),
            BasisKind.ProtectChild => string.IsNullOrWhiteSpace(claim.Justification)
                ? (null, $"basis {basis.Id} requires a written justification")
                : (Decision.Permit(basis.Id, review: true), null),
            BasisKind.HarmAssessment or BasisKind.NotUnauthorisedDisclosure =>
                string.IsNullOrWhiteSpace(claim.AssessmentReference)
                    ? (null, $"basis {basis.Id} requires the journal reference of the assessment")
                    : !sender.HasDesignatedAssessor(claim.Assessor)
                        ? (null, $"basis {basis.Id} requires an assessor designated for unit {sender.Id}")
                        : (Decision.Permit(basis.Id), null),
            _ => (null, $"basis {basis.Id} cannot be claimed"),
        };
    }

    private Decision? CheckConsents(SubmitDisclosure d, Unit receiver, IReadOnlyList<ConsentRecord> consents, DateTimeOffset now, List<string> reasons)
    {
        var relevant = consents
            .Where(c => c.State == ConsentState.Active && c.SendingUnits.Contains(d.SendingUnit) && c.ReceivingUnits.Contains(d.ReceivingUnit) && c.Purposes.Contains(d.Purpose))
            .ToList();
        if (relevant.Count == 0)
        {
            reasons.Add($"no consent covers {d.Purpose} from unit {d.SendingUnit} to unit {d.ReceivingUnit}");
            return null;
        }

        // A recorded "no" stands: when any grantor of a consent for this very situation said no, there is no consent.
        foreach (var c in relevant.Where(c => c.ValidFrom <= now && now < c.ValidUntil))
        {
            var no = c.Grantors.Select((g, i) => (g, i)).FirstOrDefault(x => x.g.Answer == ConsentAnswer.No);
            if (no.g is not null)
            {
                reasons.Add($"grantor {no.i + 1} ({no.g.Role}) answered no");
                return null;
            }
        }

        // Staff must give every consent an end, a "no" too, but the "no" answered every yes given before it: that yes is
        // not relied on again once the "no" has lapsed, as if it had never been said. A yes given after it is the newer word.
        var lapsedNos = relevant.Where(c => c.ValidUntil <= now && c.Grantors.Any(g => g.Answer == ConsentAnswer.No)).ToList();
        // An answer in part is a "no" to the categories it leaves out (domain.md section 3), recorded in whichever consent:
        // within one consent the answers are intersected (Covered), and one consent for this situation limits another's yes.
        var partlyRefused = relevant.Where(c => c.ValidFrom <= now && now < c.ValidUntil && LeavesOut(c, d.Categories)).Select(c => c.Id).ToHashSet();
        foreach (var c in relevant)
        {
            // The latest such "no" is the one cited, whatever order the consents came in.
            var failure = lapsedNos.Where(no => no.Id != c.Id && c.GivenAt() <= NoGivenAt(no)).MaxBy(NoGivenAt) is { } answered
                ? $"a grantor answered no on {SwedishDay(NoGivenAt(answered)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}, after this consent was given"
                : partlyRefused.Any(id => id != c.Id)
                    ? "another consent for this situation records an answer in part that leaves out a category of this message"
                    : ConsentFailure(c, d.Purpose, receiver, d.Categories, now);
            if (failure is null)
            {
                return Decision.Permit(bases.Of(BasisKind.Consent).Id, c.Id);
            }

            reasons.Add(failure);
        }

        return null;
    }

    /// <summary>
    /// Whether a grantor of <paramref name="c"/> answered in part, leaving out one of <paramref name="categories"/> that the
    /// consent asked about: a category it never asked about, the answer says nothing of.
    /// </summary>
    private static bool LeavesOut(ConsentRecord c, IReadOnlyList<InformationCategory> categories) =>
        c.Grantors.Any(g => g.Answer == ConsentAnswer.Partial
            && categories.Any(category => c.Categories.Contains(category) && !(g.CoveredCategories ?? []).Contains(category)));

    private string? ConsentFailure(ConsentRecord c, Purpose purpose, Unit receiver, IReadOnlyList<InformationCategory> categories, DateTimeOffset now)
    {
        if (now >= c.ValidUntil)
        {
            return $"consent expired {c.ValidUntil.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
        }

        if (now < c.ValidFrom)
        {
            return $"consent is not valid until {c.ValidFrom.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
        }

        var covered = Covered(c, purpose, receiver.Operation, receiver.Id, now, out var failure);
        if (failure is not null)
        {
            return failure;
        }

        var missing = categories.Where(cat => !covered.Contains(cat)).ToList();
        return missing.Count == 0 ? null : $"no consent covers category {string.Join(", ", missing)}";
    }

    /// <summary>
    /// The categories one consent lets its sending units disclose for this purpose to a receiver of this operation, at
    /// any instant of its window; empty when it lets nothing through (revoked, a "no", no entitled grantor). The one
    /// reading of a consent's answers, shared with <see cref="ConsentNarrowing"/>.
    /// </summary>
    /// <param name="subjectOfAge">Read as when the subject is of age (no one consents for them any more), or as before.
    /// A version is narrower than another only when it is in both readings: the instants before and after the 18th birthday.</param>
    public IReadOnlySet<InformationCategory> Coverage(ConsentRecord c, Purpose purpose, OperationType receiver, bool subjectOfAge = false) =>
        c.State != ConsentState.Active || c.Grantors.Any(g => g.Answer == ConsentAnswer.No)
            ? new HashSet<InformationCategory>()
            : Covered(c, purpose, receiver, receiverId: null, at: null, out _, subjectOfAge);

    /// <param name="at">The instant of the disclosure; null for any instant of the consent's window, where a grantor the
    /// hub was told no longer acts for the subject counts as gone (the narrower reading).</param>
    /// <param name="subjectOfAge">Without an instant: whether to read the consent as when its subject is of age.</param>
    private HashSet<InformationCategory> Covered(
        ConsentRecord c, Purpose purpose, OperationType receiver, string? receiverId, DateTimeOffset? at, out string? failure, bool subjectOfAge = false)
    {
        failure = null;
        var answered = c.Grantors.Select((g, i) => (g, i)).Where(x => x.g.Answer != ConsentAnswer.No).ToList();
        // A grantor who no longer has custody is not relied on from then (domain.md section 3): their yes no longer counts.
        // Nor is anyone who consented for a child once the child is of age: an adult consents for themself.
        // Their "no" still stands (CheckConsents): lifting it would let more through, which only a disclosing unit may do.
        var gone = answered.FirstOrDefault(x => NoLongerActs(c, x.g, at, subjectOfAge));
        var custodyReason = gone.g is null ? null : NoLongerActsReason(c, gone.g, gone.i);
        var answering = answered.Where(x => !NoLongerActs(c, x.g, at, subjectOfAge) && NotEntitled(c, x.g, purpose, receiver, receiverId) is null).Select(x => x.g).ToList();
        if (answering.Count == 0)
        {
            // A child's own answer that the law does not let stand, or a custody change, is the reason worth telling the sender.
            failure = answered.Select(x => NotEntitled(c, x.g, purpose, receiver, receiverId)).FirstOrDefault(r => r is not null && r.StartsWith("a child's", StringComparison.Ordinal))
                ?? custodyReason
                ?? "no grantor entitled to consent has answered yes";
            return [];
        }

        if (c.BothGuardiansRequired && People(answering.Where(g => IsGuardian(g.Role))) < 2)
        {
            failure = custodyReason is null
                ? "both guardians must consent, and fewer than two have answered yes"
                : $"both guardians must consent, and {custodyReason}";
            return [];
        }

        // A former guardian's answer in part still leaves out what it left out: it is a "no" to those categories, and a
        // "no" stands after custody ends (CheckConsents); otherwise a custody change would let through what they refused.
        // (Once the subject is of age, no guardian's answer counts for or against what the adult consents to.)
        var stillRefusing = answered
            .Where(x => x.g.Answer == ConsentAnswer.Partial && GoneByCustody(c, x.g, at, subjectOfAge) && NotEntitled(c, x.g, purpose, receiver, receiverId) is null)
            .Select(x => x.g);
        return answering.Concat(stillRefusing)
            .Select(g => g.Answer == ConsentAnswer.Yes ? c.Categories : c.Categories.Intersect(g.CoveredCategories ?? []).ToList())
            .Aggregate((IEnumerable<InformationCategory>)c.Categories, (acc, next) => acc.Intersect(next))
            .ToHashSet();
    }

    /// <summary>
    /// Why a grantor's answer cannot count for this purpose and receiver, or null when it can. Foster parents and
    /// residential staff without an appointment never consent (the Skåne guidance, footnote 3). A child's own consent
    /// counts only from the age, for the purposes and towards the receivers of the catalogue's rule (SoL 3:6a in the 2001
    /// act), judged on the day the consent was given: a consent recorded before the rule, or written straight to the
    /// store, gets no further than one recorded today.
    /// </summary>
    private string? NotEntitled(ConsentRecord c, Grantor g, Purpose purpose, OperationType receiver, string? receiverId)
    {
        if (g.Role == GrantorRole.FosterParent)
        {
            return "foster parents may not consent";
        }

        if (g.Role != GrantorRole.Subject)
        {
            return null;
        }

        var rule = bases.ChildsOwnConsent;
        if (!PersonalIdentityNumber.TryParse(c.SubjectId, out var subject, out _))
        {
            return $"a child's own consent needs an identified subject ({rule.Id})";
        }

        var age = subject.Value.AgeOn(c.GivenOn());
        if (age >= ChildsOwnConsentRule.AdultAge)
        {
            return null;
        }

        if (age < rule.MinimumAge)
        {
            return $"a child's own consent needs the child to have turned {rule.MinimumAge} on the day it was given ({rule.Id})";
        }

        return rule.Covers(purpose, receiver)
            ? null
            : $"a child's own consent cannot cover {purpose} to {(receiverId is null ? receiver.ToString() : $"unit {receiverId}")} ({rule.Id})";
    }

    /// <param name="at">null for any instant of the consent's window: a grantor the hub was told no longer has custody
    /// counts as gone, and one consenting on the subject's behalf as <paramref name="subjectOfAge"/> says.</param>
    private static bool NoLongerActs(ConsentRecord c, Grantor g, DateTimeOffset? at, bool subjectOfAge) =>
        (g.NoLongerGuardianFrom is { } from && (at is null || at >= from))
        || (OfAgeFrom(c, g) is { } ofAge && (at is { } instant ? instant >= ofAge : subjectOfAge));

    /// <summary>No longer acting for the subject through a custody change the hub was told of, the subject still a child.</summary>
    private static bool GoneByCustody(ConsentRecord c, Grantor g, DateTimeOffset? at, bool subjectOfAge) =>
        g.NoLongerGuardianFrom is { } from && (at is null || at >= from)
        && !(OfAgeFrom(c, g) is { } ofAge && (at is { } instant ? instant >= ofAge : subjectOfAge));

    private static string NoLongerActsReason(ConsentRecord c, Grantor g, int index) =>
        g.NoLongerGuardianFrom is { } from && (OfAgeFrom(c, g) is not { } ofAge || from <= ofAge)
            ? $"grantor {index + 1} ({g.Role}) is no longer a guardian from {from.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}"
            : $"grantor {index + 1} ({g.Role}) consented for a child who is now of age"; // no date: it would give the birth date

    /// <summary>
    /// For anyone consenting on a subject's behalf, the start of the day the subject turns 18 in Sweden, when custody and
    /// every other authority over a child end; null for the subject's own answer, or a subject whose age cannot be read.
    /// </summary>
    private static DateTimeOffset? OfAgeFrom(ConsentRecord c, Grantor g)
    {
        if (g.Role == GrantorRole.Subject || !PersonalIdentityNumber.TryParse(c.SubjectId, out var subject, out _))
        {
            return null;
        }

        // The first day AgeOn counts 18 (for one born on 29 February, the 28th in a common year), from local midnight:
        // midnight UTC would let a guardian's yes count for the first hour or two of the birthday.
        var day = subject.Value.BirthDate.AddYears(ChildsOwnConsentRule.AdultAge).ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(day, Sweden.GetUtcOffset(day));
    }

    /// <summary>
    /// Whether the subject is 18 or older on this day in Sweden; false for one whose number cannot be read (only a report of
    /// concern may name such a subject: a child its sender cannot identify yet).
    /// </summary>
    private static bool IsOfAge(string subjectId, DateTimeOffset now) =>
        PersonalIdentityNumber.TryParse(subjectId, out var subject, out _)
        && subject.Value.AgeOn(SwedishDay(now)) >= ChildsOwnConsentRule.AdultAge;

    /// <summary>How long after its submission a report of concern is still judged as of that day (see Decide).</summary>
    internal static readonly TimeSpan ReportHeldAtMost = TimeSpan.FromHours(48);

    /// <summary>Where the hub's subjects come of age.</summary>
    internal static readonly TimeZoneInfo Sweden = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");

    /// <summary>
    /// When a version's no was said: as <see cref="ConsentRecord.GivenAt"/> for a first version, but a change keeps its consent's
    /// start, so a no recorded by a later version was said when that version was recorded, not before (nor can moving
    /// the start back lift the no off the yeses given in between).
    /// </summary>
    private static DateTimeOffset NoGivenAt(ConsentRecord no) => no.Version == 1 ? no.GivenAt() : no.RecordedAt;

    /// <summary>The calendar day in Sweden at <paramref name="at"/>: a birthday begins at Swedish midnight, not UTC's.</summary>
    internal static DateOnly SwedishDay(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, Sweden).DateTime);

    public static bool IsGuardian(GrantorRole role) =>
        role is GrantorRole.Guardian or GrantorRole.TemporaryGuardian or GrantorRole.SpeciallyAppointedGuardian;

    /// <summary>
    /// Whether two grantors are one person: by identity number where both have one, else by name, read as a reader would
    /// (Unicode compatibility forms, invisible formatting characters, any spacing and case aside). Both guardians are two
    /// people, whatever a record lists.
    /// </summary>
    internal static bool SamePerson(Grantor a, Grantor b) =>
        a.IdentityNumber is { } x && b.IdentityNumber is { } y ? x == y : NameAsRead(a.Name) == NameAsRead(b.Name);

    /// <summary>How many people <paramref name="grantors"/> are (<see cref="SamePerson"/>).</summary>
    internal static int People(IEnumerable<Grantor> grantors)
    {
        var people = new List<Grantor>();
        foreach (var g in grantors.Where(g => !people.Any(p => SamePerson(p, g))))
        {
            people.Add(g);
        }

        return people.Count;
    }

    private static string NameAsRead(string name)
    {
        var read = new StringBuilder(name.Length);
        foreach (var ch in name.Normalize(NormalizationForm.FormKC))
        {
            if (char.IsWhiteSpace(ch))
            {
                read.Append(' ');
            }
            else if (CharUnicodeInfo.GetUnicodeCategory(ch) != UnicodeCategory.Format)
            {
                read.Append(ch);
            }
        }

        return string.Join(' ', read.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToUpperInvariant();
    }
}
