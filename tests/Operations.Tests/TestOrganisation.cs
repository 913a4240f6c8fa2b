using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Operations.Tests;

/// <summary>One family centre's units and the social committee's intake, as in the demo organisation.</summary>
internal static class TestOrganisation
{
    public const string Child = "202403152388";
    public const string ActingUser = "SE2321000016-BVC1";
    public const string Mvc = "mvc";
    public const string Bvc = "bvc";
    public const string Preschool = "forskola";
    public const string Preventive = "social";
    public const string Intake = "mottagning";

    public static readonly OrganisationRegistry Registry = new(new OrganisationDocument(
        [
            new Principal("region", PrincipalKind.Region, "Region Skåne"),
            new Principal("kommun", PrincipalKind.Municipality, "Malmö stad"),
        ],
        [new Committee("forskolenamnd", "kommun", "Förskolenämnden"), new Committee("socialnamnd", "kommun", "Socialnämnden")],
        [new FamilyCentre("fc", "Familjecentralen")],
        [
            new Unit(Mvc, "MVC", OperationType.MaternityCare, "region", CareUnit: "fc-vardenhet", FamilyCentre: "fc"),
            new Unit(Bvc, "BVC", OperationType.ChildHealth, "region", CareUnit: "fc-vardenhet", FamilyCentre: "fc"),
            new Unit(Preschool, "Öppna förskolan", OperationType.OpenPreschool, "kommun", Committee: "forskolenamnd", Branch: "utbildning", FamilyCentre: "fc"),
            new Unit(Preventive, "Förebyggande socialtjänst", OperationType.PreventiveSocialServices, "kommun", Committee: "socialnamnd", Branch: "socialtjanst", FamilyCentre: "fc"),
            new Unit(Intake, "Mottagningen", OperationType.SocialServicesIntake, "kommun", Committee: "socialnamnd", Branch: "socialtjanst"),
        ]));
}
