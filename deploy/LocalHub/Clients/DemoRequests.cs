namespace FamiljecentralHub.LocalHub.Clients;

/// <summary>
/// The demo's first flow, written once for the run command's printed curl lines, the benchmark and the end-to-end
/// tests: BVC Rosengård records a guardian's consent and refers the family to preventive social services.
/// </summary>
public static class DemoRequests
{
    public const string ChildHealthUnit = "rosengard-bvc";
    public const string SocialServicesUnit = "rosengard-socialtjanst";
    public const string ChildHealthClient = "bvc-ehr";
    public const string SocialServicesClient = "socialtjanst-system";

    public const string ConsentPath = "/consent/consents";
    public const string ReferralPath = $"/child-health/units/{ChildHealthUnit}/referrals";
    public const string InboxPath = $"/social-services/units/{SocialServicesUnit}/inbox";

    public static object Consent(string subjectId, DateTimeOffset now) => new
    {
        subjectId,
        grantors = new[] { new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes" } },
        bothGuardiansRequired = false,
        purposes = new[] { "Referral" },
        sendingUnits = new[] { ChildHealthUnit },
        receivingUnits = new[] { SocialServicesUnit },
        categories = new[] { "FamilySituation", "ParentingSupport" },
        validUntil = now.AddMonths(6),
        situation = "Föräldrastöd efter samtal på BVC",
        journalReference = "BVC-journal 2026-11-22 anteckning 3",
        recordedBy = "SE2321000016-BVC1",
        recordingUnit = ChildHealthUnit,
    };

    public static object Referral(string subjectId) => new
    {
        receivingUnit = SocialServicesUnit,
        subjectId,
        categories = new[] { "FamilySituation", "ParentingSupport" },
        reason = "Föräldrarna önskar stöd i föräldraskapet; överenskommet vid hembesök.",
        actingUser = "SE2321000016-BVC1",
    };
}
