using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Hl7.Fhir.Model;
using FhirConsent = Hl7.Fhir.Model.Consent;

namespace FamiljecentralHub.Consent.Features.Fhir;

/// <summary>
/// Each version of a consent as an R4 <c>Consent</c>: the root provision is what the consent permits (the units that
/// disclose, the units that receive, the purposes, the information categories as data classes, the period); one nested
/// provision per grantor carries that grantor's own answer (yes permits, no denies, partial permits only the categories
/// it covers), since R4 has no other place for an answer per person.
/// </summary>
public static class FhirConsents
{
    /// <summary>Every version, oldest first, as a history bundle: the first was created, each later one replaced it.</summary>
    public static Bundle History(IReadOnlyList<ConsentRecord> versions, OrganisationRegistry organisation)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.History, Total = versions.Count };
        foreach (var record in versions)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = "urn:uuid:" + record.Id,
                Resource = Of(record, organisation),
                Request = new Bundle.RequestComponent
                {
                    Method = record.Version == 1 ? Bundle.HTTPVerb.POST : Bundle.HTTPVerb.PUT,
                    Url = record.Version == 1 ? "Consent" : $"Consent/{record.Id}",
                },
                Response = new Bundle.ResponseComponent
                {
                    Status = record.Version == 1 ? "201 Created" : "200 OK",
                    LastModified = record.RecordedAt,
                },
            });
        }

        return bundle;
    }

    public static FhirConsent Of(ConsentRecord record, OrganisationRegistry organisation)
    {
        var consent = new FhirConsent
        {
            Id = record.Id.ToString(),
            Meta = new Meta { VersionId = record.Version.ToString(CultureInfo.InvariantCulture), LastUpdated = record.RecordedAt },
            Status = record.State == ConsentState.Revoked ? FhirConsent.ConsentState.Inactive : FhirConsent.ConsentState.Active,
            Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
            Category = [new CodeableConcept("http://loinc.org", "59284-0", "Patient Consent")],
            Patient = new ResourceReference { Identifier = FhirSystems.PersonalIdentityNumber(record.SubjectId) },
            DateTimeElement = new FhirDateTime(record.RecordedAt),
            Performer = [.. record.Grantors.Select(Performer)],
            Organization = [FhirSystems.UnitReference(record.RecordingUnit, organisation)],
            Source = new ResourceReference { Display = record.JournalReference },
            PolicyRule = new CodeableConcept(FhirSystems.LegalBasis, "consent", "Samtycke (OSL 10:1, 12:2; 25:1 och 26:1 med samtycke)"),
            Provision = Provision(record, organisation),
            Text = Narrative(record, organisation),
        };
        return consent;
    }

    private static ResourceReference Performer(Grantor grantor) => new()
    {
        Identifier = grantor.IdentityNumber is { } number ? FhirSystems.PersonalIdentityNumber(number) : null,
        Display = grantor.Name,
    };

    private static FhirConsent.provisionComponent Provision(ConsentRecord record, OrganisationRegistry organisation)
    {
        var provision = new FhirConsent.provisionComponent
        {
            Type = FhirConsent.ConsentProvisionType.Permit,
            Period = new Period(new FhirDateTime(record.ValidFrom), new FhirDateTime(record.ValidUntil)),
            Purpose = [.. record.Purposes.Select(purpose => new Coding(FhirSystems.Purpose, purpose.ToString()))],
            Class = [.. record.Categories.Select(category => new Coding(FhirSystems.InformationCategory, category.ToString()))],
        };
        provision.Actor.AddRange(record.SendingUnits.Select(unit => Actor("CST", "custodian", FhirSystems.UnitReference(unit, organisation))));
        provision.Actor.AddRange(record.ReceivingUnits.Select(unit => Actor("IRCP", "information recipient", FhirSystems.UnitReference(unit, organisation))));
        provision.Provision.AddRange(record.Grantors.Select(GrantorAnswer));
        return provision;
    }

    private static FhirConsent.provisionActorComponent Actor(string code, string display, ResourceReference who) => new()
    {
        Role = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code, display),
        Reference = who,
    };

    /// <summary>One grantor's answer: yes permits, no denies, partial permits only what it covers.</summary>
    private static FhirConsent.provisionComponent GrantorAnswer(Grantor grantor)
    {
        var answer = new FhirConsent.provisionComponent
        {
            Type = grantor.Answer == ConsentAnswer.No ? FhirConsent.ConsentProvisionType.Deny : FhirConsent.ConsentProvisionType.Permit,
            Actor =
            [
                new FhirConsent.provisionActorComponent
                {
                    Role = new CodeableConcept(FhirSystems.GrantorRole, grantor.Role.ToString()),
                    Reference = Performer(grantor),
                },
            ],
            Code = [new CodeableConcept(FhirSystems.ConsentAnswer, grantor.Answer.ToString())],
        };
        if (grantor.Answer == ConsentAnswer.Partial)
        {
            answer.Class = [.. (grantor.CoveredCategories ?? []).Select(category => new Coding(FhirSystems.InformationCategory, category.ToString()))];
        }

        return answer;
    }

    /// <summary>A short Swedish summary for a human reader, with the situation in staff's words; every text escaped.</summary>
    private static Narrative Narrative(ConsentRecord record, OrganisationRegistry organisation)
    {
        var html = HtmlEncoder.Default;
        var text = new StringBuilder("<div xmlns=\"http://www.w3.org/1999/xhtml\">");
        text.Append(CultureInfo.InvariantCulture, $"<p>Samtycke, version {record.Version} ({(record.State == ConsentState.Revoked ? "återkallat" : "gällande")}), ");
        text.Append(CultureInfo.InvariantCulture, $"{record.ValidFrom:yyyy-MM-dd} – {record.ValidUntil:yyyy-MM-dd}.</p>");
        text.Append(CultureInfo.InvariantCulture, $"<p>Situation: {html.Encode(record.Situation)}</p>");
        text.Append(CultureInfo.InvariantCulture, $"<p>Från: {html.Encode(string.Join(", ", record.SendingUnits.Select(u => organisation.FindUnit(u)?.Name ?? u)))}. ");
        text.Append(CultureInfo.InvariantCulture, $"Till: {html.Encode(string.Join(", ", record.ReceivingUnits.Select(u => organisation.FindUnit(u)?.Name ?? u)))}.</p>");
        if (record.BothGuardiansRequired)
        {
            text.Append("<p>Båda vårdnadshavarnas samtycke krävs.</p>");
        }

        text.Append("</div>");
        return new Narrative { Status = Hl7.Fhir.Model.Narrative.NarrativeStatus.Generated, Div = text.ToString() };
    }
}
