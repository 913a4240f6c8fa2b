using FamiljecentralHub.ServiceDefaults.Organisation;
using Hl7.Fhir.Model;

namespace FamiljecentralHub.Consent.Features.Fhir;

/// <summary>The identifier and code systems the exports use: national ones where they exist, the hub's own otherwise.</summary>
public static class FhirSystems
{
    /// <summary>Personnummer (Skatteverket), as the Swedish national FHIR profiles name it.</summary>
    public const string PersonalIdentityNumberSystem = "http://electronichealth.se/identifier/personnummer";

    /// <summary>Samordningsnummer: day of birth plus 60.</summary>
    public const string CoordinationNumberSystem = "http://electronichealth.se/identifier/samordningsnummer";

    private const string Hub = "urn:familjecentralhub:";
    public const string Unit = Hub + "unit";
    public const string Principal = Hub + "principal";
    public const string ClientSystem = Hub + "client";
    public const string ActingUser = Hub + "acting-user";
    public const string SubjectPseudonym = Hub + "subject-pseudonym";
    public const string Purpose = Hub + "purpose";
    public const string InformationCategory = Hub + "information-category";
    public const string LegalBasis = Hub + "legal-basis";
    public const string GrantorRole = Hub + "grantor-role";
    public const string ConsentAnswer = Hub + "consent-answer";
    public const string LedgerKind = Hub + "ledger-kind";
    public const string RefusalReason = Hub + "refusal-reason";

    public static Identifier PersonalIdentityNumber(string number)
    {
        var digits = new string([.. number.Where(char.IsAsciiDigit)]);
        // Twelve digits, as the national profiles write it; the day of birth (7th and 8th) tells a coordination number.
        var dayOfBirth = digits.Length == 12 ? int.Parse(digits.AsSpan(6, 2), provider: System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new Identifier(dayOfBirth > 60 ? CoordinationNumberSystem : PersonalIdentityNumberSystem, digits);
    }

    public static ResourceReference UnitReference(string unitId, OrganisationRegistry organisation) => new()
    {
        Type = "Organization",
        Identifier = new Identifier(Unit, unitId),
        Display = organisation.FindUnit(unitId)?.Name,
    };
}
