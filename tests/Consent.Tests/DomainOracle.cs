using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>What the rules of domain.md sections 2 to 6 say about one scenario, worked out without the gate's code.</summary>
internal sealed record Verdict(
    bool UnitsKnown,
    bool Accepted,
    bool SameSecrecyArea,
    IReadOnlySet<string> NonConsentBases,
    bool RecordedNo,
    IReadOnlySet<Guid> QualifyingConsents)
{
    public bool ConsentBasis => !RecordedNo && QualifyingConsents.Count > 0;

    /// <summary>Some legal basis lets this disclosure cross (or it does not cross any boundary).</summary>
    public bool HasBasis => UnitsKnown && Accepted && (SameSecrecyArea || NonConsentBases.Count > 0 || ConsentBasis);

    /// <summary>The bases a permit may name.</summary>
    public IReadOnlySet<string> ValidBases
    {
        get
        {
            var bases = new HashSet<string>(NonConsentBases);
            if (SameSecrecyArea)
            {
                bases.Add(DomainOracle.SameSecrecyArea);
            }

            if (ConsentBasis)
            {
                bases.Add(DomainOracle.Consent);
            }

            return bases;
        }
    }

    public override string ToString() =>
        $"known={UnitsKnown} accepted={Accepted} sameArea={SameSecrecyArea} bases=[{string.Join(",", NonConsentBases)}] " +
        $"recordedNo={RecordedNo} qualifying=[{string.Join(",", QualifyingConsents.Select(g => g.ToString()[..8]))}]";
}

/// <summary>
/// An independent reading of the rules, written from domain.md and the basis ids of legal-bases.json. It deliberately
/// calls nothing of the gate, the basis catalogue or the registry's secrecy-area helpers.
/// </summary>
internal static class DomainOracle
{
    public const string SameSecrecyArea = "same-secrecy-area";
    public const string Consent = "consent";
    public const string ReportOfConcern = "report-of-concern";
    public const string ProtectFromHealthCare = "protect-child-from-health-care";
    public const string ProtectFromSocialServices = "protect-child-from-social-services";
    public const string HarmAssessment = "harm-assessment";
    public const string NotUnauthorisedDisclosure = "not-unauthorised-disclosure";

    /// <summary>Section 4: the mandatory report and the protective bases are flagged for review; the assessments are not.</summary>
    public static readonly IReadOnlySet<string> ReviewedBases = new HashSet<string> { ReportOfConcern, ProtectFromHealthCare, ProtectFromSocialServices };

    public static Verdict Judge(Scenario s)
    {
        var d = s.Request;
        var units = s.Organisation.Document.Units.ToDictionary(u => u.Id);
        var kinds = s.Organisation.Document.Principals.ToDictionary(p => p.Id, p => p.Kind);
        if (!units.TryGetValue(d.SendingUnit, out var sender) || !units.TryGetValue(d.ReceivingUnit, out var receiver))
        {
            return new Verdict(false, false, false, new HashSet<string>(), false, new HashSet<Guid>());
        }

        var recordedNo = s.Consents.Any(c => ForThisSituation(c, d, s.Now) && c.Grantors.Any(g => g.Answer == ConsentAnswer.No));
        // Section 3: any no means no consent. A no whose window has ended still answered every yes given before it (or
        // with it): such a yes is not relied on again; one given after it is the newer word.
        var lapsedNos = s.Consents.Where(c => Names(c, d) && c.ValidUntil.UtcTicks <= s.Now.UtcTicks && c.Grantors.Any(g => g.Answer == ConsentAnswer.No)).ToList();
        // An answer in part refuses the categories it leaves out, in another consent for this situation too (within one
        // consent the answers that count are intersected: Qualifies).
        var partlyRefusing = s.Consents.Where(c => ForThisSituation(c, d, s.Now)
            && c.Grantors.Any(g => g.Answer == ConsentAnswer.Partial && d.Categories.Intersect(c.Categories).Except(g.CoveredCategories ?? []).Any()))
            .Select(c => c.Id).ToList();
        // A no in a later version was said when that version was recorded (a change keeps the consent's start).
        var qualifying = s.Consents.Where(c => Qualifies(c, d, receiver, s.Now) && !partlyRefusing.Any(id => id != c.Id)
                && !lapsedNos.Any(no => Given(c) <= (no.Version == 1 ? Given(no) : no.RecordedAt.UtcTicks)))
            .Select(c => c.Id).ToHashSet();
        return new Verdict(
            true,
            Accepts(sender, receiver, d.Purpose),
            SameArea(sender, kinds[sender.Principal], receiver),
            NonConsentBases(d, sender, kinds[sender.Principal], receiver, s.Now),
            recordedNo,
            qualifying);
    }

    /// <summary>
    /// Section 2: same principal, and the same care unit (health care) or the same committee and branch (municipality).
    /// Which attributes count follows the principal; a family centre in common does not matter.
    /// </summary>
    public static bool SameArea(Unit a, PrincipalKind kind, Unit b) =>
        a.Principal == b.Principal
        && (kind == PrincipalKind.Municipality
            ? a.Committee == b.Committee && a.Branch == b.Branch
            : a.CareUnit == b.CareUnit);

    /// <summary>
    /// Section 6: reports of concern go to the social committee's intake and only there; the birth handover goes from
    /// maternity to child health care; the care handover between the authority side and preventive social services;
    /// the family centre's own purposes go to any unit but the intake, which is not part of the family centre.
    /// </summary>
    public static bool Accepts(Unit sender, Unit receiver, Purpose purpose) => purpose switch
    {
        Purpose.ReportOfConcern => receiver.Operation == OperationType.SocialServicesIntake,
        Purpose.BirthHandover => sender.Operation == OperationType.MaternityCare && receiver.Operation == OperationType.ChildHealth,
        Purpose.CareHandover =>
            (sender.Operation == OperationType.SocialServicesIntake && receiver.Operation == OperationType.PreventiveSocialServices)
            || (sender.Operation == OperationType.PreventiveSocialServices && receiver.Operation == OperationType.SocialServicesIntake),
        _ => receiver.Operation != OperationType.SocialServicesIntake,
    };

    /// <summary>
    /// Section 4, items 2 to 5. The mandatory report is the law's own basis: it holds for every report of concern to the
    /// intake about a child (the duty is to report that a child is harmed), claimed or not; a subject whose number cannot be
    /// read counts as a child. The others hold only when claimed, for the right pair, with what the law requires shown.
    /// </summary>
    public static IReadOnlySet<string> NonConsentBases(SubmitDisclosure d, Unit sender, PrincipalKind senderKind, Unit receiver, DateTimeOffset now)
    {
        var bases = new HashSet<string>();
        var toIntake = receiver.Operation == OperationType.SocialServicesIntake;
        // A report of concern is judged on the day it was submitted, if the gate decides it within two days.
        var reportedAt = d.Purpose == Purpose.ReportOfConcern && d.SubmittedAt < now && now - d.SubmittedAt <= TimeSpan.FromHours(48) ? d.SubmittedAt : now;
        var aboutAChild = AgeOn(d.SubjectId, SwedishDay(reportedAt)) < 18;
        if (d.Purpose == Purpose.ReportOfConcern && toIntake && aboutAChild)
        {
            bases.Add(ReportOfConcern);
        }

        if (d.ClaimedBasis is not { } claim)
        {
            return bases;
        }

        var fromHealthCare = sender.Operation is OperationType.MaternityCare or OperationType.ChildHealth;
        var fromSocialServices = sender.Operation is OperationType.PreventiveSocialServices or OperationType.SocialServicesIntake;
        var toHealthCare = receiver.Operation is OperationType.MaternityCare or OperationType.ChildHealth;
        var toSocialServices = receiver.Operation is OperationType.PreventiveSocialServices or OperationType.SocialServicesIntake;
        var justified = !string.IsNullOrWhiteSpace(claim.Justification);
        var assessed = !string.IsNullOrWhiteSpace(claim.AssessmentReference)
            && claim.Assessor is not null && (sender.DesignatedAssessors ?? []).Any(a => a == claim.Assessor);
        var valid = claim.Basis switch
        {
            ReportOfConcern => d.Purpose == Purpose.ReportOfConcern && toIntake && aboutAChild,
            ProtectFromHealthCare => fromHealthCare && toSocialServices && justified,
            ProtectFromSocialServices => fromSocialServices && toHealthCare && justified,
            HarmAssessment => senderKind is PrincipalKind.Region or PrincipalKind.Municipality && assessed,
            NotUnauthorisedDisclosure => senderKind == PrincipalKind.PrivateCareProvider && assessed,
            _ => false, // consent and the same secrecy area are not claimed; anything else is no basis at all
        };
        if (valid)
        {
            bases.Add(claim.Basis);
        }

        return bases;
    }

    /// <summary>Active, naming this sending unit, this receiving unit and this purpose, and valid at this instant.</summary>
    public static bool ForThisSituation(ConsentRecord c, SubmitDisclosure d, DateTimeOffset now) =>
        Names(c, d)
        && c.ValidFrom.UtcTicks <= now.UtcTicks
        && now.UtcTicks < c.ValidUntil.UtcTicks;

    /// <summary>Active, naming this sending unit, this receiving unit and this purpose, at any time.</summary>
    private static bool Names(ConsentRecord c, SubmitDisclosure d) =>
        c.State == ConsentState.Active
        && c.SendingUnits.Contains(d.SendingUnit)
        && c.ReceivingUnits.Contains(d.ReceivingUnit)
        && c.Purposes.Contains(d.Purpose);

    /// <summary>When its answers were given: the earlier of its start and its recording.</summary>
    private static long Given(ConsentRecord c) => Math.Min(c.ValidFrom.UtcTicks, c.RecordedAt.UtcTicks);

    /// <summary>
    /// Section 3 and 5(e): no grantor said no; at least one grantor entitled to consent answered (foster parents are not
    /// entitled: their answers do not count); two guardian-type answers when both guardians are required; and every
    /// entitled grantor covers every requested category: a yes covers the consent's categories, a partial answer only
    /// those of its list that the consent proposes.
    /// </summary>
    public static bool Qualifies(ConsentRecord c, SubmitDisclosure d, Unit receiver, DateTimeOffset now)
    {
        if (!ForThisSituation(c, d, now) || c.Grantors.Any(g => g.Answer == ConsentAnswer.No))
        {
            return false;
        }

        // Custody, and every other authority to consent for a child, ends when the subject turns 18.
        var ofAge = AgeOn(c.SubjectId, SwedishDay(now)) >= 18;
        var entitled = c.Grantors.Where(g => g.Role != GrantorRole.FosterParent
            && (g.Role == GrantorRole.Subject ? SubjectMayConsent(c, d.Purpose, receiver) : !ofAge)).ToList();
        // Two guardians are two people: one listed twice (the same number, or the same name where not both are numbered)
        // is one.
        var guardianList = entitled.Where(g => g.Role is GrantorRole.Guardian or GrantorRole.TemporaryGuardian or GrantorRole.SpeciallyAppointedGuardian).ToList();
        var guardians = guardianList.Where((g, i) => !guardianList.Take(i).Any(earlier =>
            earlier.IdentityNumber is not null && g.IdentityNumber is not null
                ? earlier.IdentityNumber == g.IdentityNumber
                : string.Equals(earlier.Name, g.Name, StringComparison.OrdinalIgnoreCase))).Count();
        return entitled.Count > 0
            && (!c.BothGuardiansRequired || guardians >= 2)
            && d.Categories.All(k => c.Categories.Contains(k)
                && entitled.All(g => g.Answer == ConsentAnswer.Yes || (g.CoveredCategories ?? []).Contains(k)));
    }

    /// <summary>
    /// Section 3 and issue 18: an adult consents for themself; a child who had turned 15 on the day the consent was given
    /// (the earlier of its start and its recording, the Swedish day) may consent alone to a referral to preventive social services (an open
    /// intervention, SoL 3:6a in the 2001 act), and to nothing else. The age is read from the number itself.
    /// </summary>
    public static bool SubjectMayConsent(ConsentRecord c, Purpose purpose, Unit receiver)
    {
        var age = AgeOn(c.SubjectId, SwedishDay(c.ValidFrom.UtcTicks < c.RecordedAt.UtcTicks ? c.ValidFrom : c.RecordedAt));
        return age >= 18 || (age >= 15 && purpose == Purpose.Referral && receiver.Operation == OperationType.PreventiveSocialServices);
    }

    /// <summary>The day it is in Sweden, where the subjects come of age at local midnight.</summary>
    internal static DateTime SwedishDay(DateTimeOffset now) =>
        TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm")).DateTime;

    /// <summary>The subject's age in whole years on the day, read from the number itself; -1 when it is no number.</summary>
    internal static int AgeOn(string subjectId, DateTime on)
    {
        var digits = subjectId.Replace("-", "", StringComparison.Ordinal);
        if (digits.Length != 12 || !digits.All(char.IsAsciiDigit))
        {
            return -1;
        }

        var year = int.Parse(digits[..4], System.Globalization.CultureInfo.InvariantCulture);
        var month = int.Parse(digits[4..6], System.Globalization.CultureInfo.InvariantCulture);
        var day = int.Parse(digits[6..8], System.Globalization.CultureInfo.InvariantCulture);
        day = day > 60 ? day - 60 : day;
        return on.Year - year - (on.Month < month || (on.Month == month && on.Day < day) ? 1 : 0);
    }
}
