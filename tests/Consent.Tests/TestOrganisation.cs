using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// An organisation with a unit for every row of Table 1 in the Skåne guidance: a family centre with Region Skåne's
/// MVC and BVC in one care unit, a second public BVC, two private providers, a municipality with two committees.
/// </summary>
internal static class TestOrganisation
{
    public const string Child = "202403152388";
    public const string Adult = "199005121232";
    public const string Teenager = "201006012346";
    public static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    public static readonly OrganisationRegistry Registry = new(new OrganisationDocument(
        [
            new Principal("region", PrincipalKind.Region, "Region Skåne"),
            new Principal("kommun", PrincipalKind.Municipality, "Malmö stad"),
            new Principal("privat-a", PrincipalKind.PrivateCareProvider, "Vårdgivare A"),
            new Principal("privat-b", PrincipalKind.PrivateCareProvider, "Vårdgivare B"),
        ],
        [new Committee("forskolenamnd", "kommun", "Förskolenämnden"), new Committee("socialnamnd", "kommun", "Socialnämnden")],
        [new FamilyCentre("fc", "Familjecentralen")],
        [
            new Unit("mvc", "MVC", OperationType.MaternityCare, "region", CareUnit: "fc-vardenhet", FamilyCentre: "fc"),
            new Unit("bvc", "BVC", OperationType.ChildHealth, "region", CareUnit: "fc-vardenhet", FamilyCentre: "fc",
                DesignatedAssessors: ["assessor-bvc"]),
            new Unit("bvc-team2", "BVC team 2", OperationType.ChildHealth, "region", CareUnit: "fc-vardenhet", FamilyCentre: "fc"),
            new Unit("bvc-other", "BVC elsewhere", OperationType.ChildHealth, "region", CareUnit: "other-vardenhet"),
            new Unit("bvc-private-a", "Private BVC A", OperationType.ChildHealth, "privat-a", CareUnit: "a-vardenhet", FamilyCentre: "fc",
                DesignatedAssessors: ["assessor-a"]),
            new Unit("bvc-private-b", "Private BVC B", OperationType.ChildHealth, "privat-b", CareUnit: "b-vardenhet"),
            new Unit("forskola", "Öppna förskolan", OperationType.OpenPreschool, "kommun", Committee: "forskolenamnd", Branch: "utbildning", FamilyCentre: "fc"),
            new Unit("forskola-2", "Öppna förskolan 2", OperationType.OpenPreschool, "kommun", Committee: "forskolenamnd", Branch: "utbildning", FamilyCentre: "fc"),
            new Unit("social", "Förebyggande socialtjänst", OperationType.PreventiveSocialServices, "kommun", Committee: "socialnamnd", Branch: "socialtjanst", FamilyCentre: "fc",
                DesignatedAssessors: ["assessor-social"]),
            new Unit("intake", "Mottagningen", OperationType.SocialServicesIntake, "kommun", Committee: "socialnamnd", Branch: "socialtjanst"),
        ]));

    public static readonly LegalBasisCatalog Bases = new(LegalBasisCatalog.Load(Path.Combine(AppContext.BaseDirectory, "legal-bases.json")));

    public static readonly SecrecyGate Gate = new(Registry, Bases);

    public static SubmitDisclosure Disclosure(
        string from, string to, Purpose purpose = Purpose.Referral, InformationCategory[]? categories = null, ClaimedBasis? basis = null) => new()
    {
        MessageId = Guid.CreateVersion7(),
        SendingUnit = from,
        ReceivingUnit = to,
        Purpose = purpose,
        Categories = categories ?? [InformationCategory.FamilySituation],
        SubjectId = Child,
        ClaimedBasis = basis,
        Content = "{}",
        ActingSystem = "test",
        SubmittedAt = Now,
    };

    public static ConsentRecord ConsentFor(
        string from, string to, Purpose purpose = Purpose.Referral, InformationCategory[]? categories = null,
        Grantor[]? grantors = null, bool both = false, DateTimeOffset? validUntil = null, ConsentState state = ConsentState.Active) => new()
    {
        Id = Guid.CreateVersion7(),
        Version = 1,
        State = state,
        SubjectId = Child,
        Grantors = grantors ?? [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes)],
        BothGuardiansRequired = both,
        Purposes = [purpose],
        SendingUnits = [from],
        ReceivingUnits = [to],
        Categories = categories ?? [InformationCategory.FamilySituation, InformationCategory.ParentingSupport],
        ValidFrom = Now.AddDays(-30),
        ValidUntil = validUntil ?? Now.AddDays(300),
        Situation = "Föräldrastöd efter samtal på BVC",
        JournalReference = "J-1",
        RecordedBy = "nurse",
        RecordingUnit = from,
        RecordedAt = Now.AddDays(-30),
    };
}
