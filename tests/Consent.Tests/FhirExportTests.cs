// Every element of Firely's model is optional; a test that finds one missing fails on it, which is what it is for.
#nullable disable warnings
using System.Text.Json;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Fhir;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Tests.Support.Fhir;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;
using FhirConsent = Hl7.Fhir.Model.Consent;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// Consents and ledger entries as FHIR R4, written as the service writes them, read back with Firely's strict parser and
/// validated against the R4 specification: a receiver of an export can rely on it.
/// </summary>
public sealed class FhirExportTests
{
    private static readonly JsonSerializerOptions Fhir = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    private static T RoundTrip<T>(T resource) where T : Resource
    {
        var parsed = FhirValidation.Parse<T>(JsonSerializer.Serialize(resource, Fhir));
        FhirValidation.Errors(parsed).ShouldBeEmpty();
        return parsed;
    }

    private static ConsentRecord ThreeVersions(out IReadOnlyList<ConsentRecord> versions)
    {
        var first = ConsentFor("bvc", "social", categories: [InformationCategory.FamilySituation, InformationCategory.ChildHealth],
            grantors:
            [
                new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes, IdentityNumber: Adult),
                new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Partial, [InformationCategory.FamilySituation]),
            ],
            both: true) with { Situation = "Stöd <script>alert(1)</script> & samtal", RecordedAt = Now, Change = ConsentChange.Recorded };
        var narrowed = first with { Version = 2, Categories = [InformationCategory.FamilySituation], RecordedAt = Now.AddDays(1), Change = ConsentChange.Narrowed };
        var revoked = narrowed with { Version = 3, State = ConsentState.Revoked, RecordedAt = Now.AddDays(2), Change = ConsentChange.Revoked };
        versions = [first, narrowed, revoked];
        return first;
    }

    [Fact]
    public void ConsentHistory_EveryVersion_ValidatesAndSaysWhatWasAgreed()
    {
        var first = ThreeVersions(out var versions);

        var bundle = RoundTrip(FhirConsents.History(versions, Registry));

        bundle.Type.ShouldBe(Bundle.BundleType.History);
        var consents = bundle.Entry.Select(e => (FhirConsent)e.Resource).ToList();
        consents.Select(c => c.Meta.VersionId).ShouldBe(["1", "2", "3"]);
        consents.Select(c => c.Status).ShouldBe([FhirConsent.ConsentState.Active, FhirConsent.ConsentState.Active, FhirConsent.ConsentState.Inactive]);
        consents.ShouldAllBe(c => c.Id == first.Id.ToString());

        var recorded = consents[0];
        recorded.Patient.Identifier.System.ShouldBe(FhirSystems.PersonalIdentityNumberSystem);
        recorded.Patient.Identifier.Value.ShouldBe(Child);
        recorded.Provision.Type.ShouldBe(FhirConsent.ConsentProvisionType.Permit);
        recorded.Provision.Period.Start.ShouldStartWith(first.ValidFrom.ToString("yyyy-MM-dd"));
        recorded.Provision.Period.End.ShouldStartWith(first.ValidUntil.ToString("yyyy-MM-dd"));
        recorded.Provision.Purpose.Select(p => p.Code).ShouldBe(["Referral"]);
        recorded.Provision.Class.Select(c => c.Code).ShouldBe(["FamilySituation", "ChildHealth"]);
        recorded.Provision.Actor.Select(a => (a.Role.Coding[0].Code, a.Reference.Identifier.Value)).ShouldBe([("CST", "bvc"), ("IRCP", "social")]);
        consents[1].Provision.Class.Select(c => c.Code).ShouldBe(["FamilySituation"]);

        // Each grantor's own answer: the second guardian agreed to family situation only.
        var answers = recorded.Provision.Provision;
        answers.Select(a => a.Code[0].Coding[0].Code).ShouldBe(["Yes", "Partial"]);
        answers[0].Actor[0].Reference.Identifier.Value.ShouldBe(Adult);
        answers[1].Type.ShouldBe(FhirConsent.ConsentProvisionType.Permit);
        answers[1].Class.Select(c => c.Code).ShouldBe(["FamilySituation"]);

        // Staff's words reach the narrative escaped, never as markup.
        recorded.Text.Div.ShouldNotContain("<script>");
        recorded.Text.Div.ShouldContain("&lt;script&gt;");
    }

    [Fact]
    public void Consent_AGrantorWhoSaidNo_IsADenyingProvision()
    {
        var consent = ConsentFor("bvc", "social", grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.No)]);

        var parsed = RoundTrip(FhirConsents.Of(consent, Registry));

        parsed.Provision.Provision.Single().Type.ShouldBe(FhirConsent.ConsentProvisionType.Deny);
    }

    [Fact]
    public void Validator_AConsentMissingWhatR4Requires_IsRefused()
    {
        // The check the tests above rely on: without it every export would pass.
        var consent = FhirConsents.Of(ConsentFor("bvc", "social"), Registry);
        consent.Scope = null;
        consent.PolicyRule = null;

        FhirValidation.Errors(consent).ShouldNotBeEmpty();
    }

    public static TheoryData<LedgerKind, LedgerOutcome> Kinds() => new()
    {
        { LedgerKind.Decision, LedgerOutcome.Permitted },
        { LedgerKind.Decision, LedgerOutcome.Refused },
        { LedgerKind.Conflict, LedgerOutcome.Conflict },
        { LedgerKind.Delivery, LedgerOutcome.Delivered },
        { LedgerKind.Withdrawal, LedgerOutcome.Withdrawn },
        { LedgerKind.Acknowledgement, LedgerOutcome.Acknowledged },
        { LedgerKind.ConsentRecorded, LedgerOutcome.Version },
        { LedgerKind.ConsentNarrowed, LedgerOutcome.Version },
        { LedgerKind.ConsentRevoked, LedgerOutcome.Version },
        { LedgerKind.CustodyChanged, LedgerOutcome.Recorded },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AuditEvent_EveryKindOfEntry_ValidatesAndNamesTheSubjectOnlyByPseudonym(LedgerKind kind, LedgerOutcome outcome)
    {
        var entry = Entry(kind, outcome);

        var audit = RoundTrip(FhirAuditEvents.Of(entry, Registry));

        audit.Id.ShouldBe("42");
        audit.Recorded.ShouldBe(entry.At);
        audit.Outcome.ShouldBe(outcome is LedgerOutcome.Refused or LedgerOutcome.Conflict ? AuditEvent.AuditEventOutcome.N4 : AuditEvent.AuditEventOutcome.N0);
        audit.Subtype.ShouldContain(c => c.System == FhirSystems.LedgerKind && c.Code == entry.KindText);
        var patient = audit.Entity.Single(e => e.Role?.Code == "1");
        patient.What.Identifier.System.ShouldBe(FhirSystems.SubjectPseudonym);
        patient.What.Identifier.Value.ShouldBe(entry.SubjectPseudonym);
        audit.Agent.Single(a => a.Type.Coding[0].Code == "110153").Who.Identifier.Value.ShouldBe("bvc");
        audit.Agent.Single(a => a.Type.Coding[0].Code == "110152").Who.Identifier.Value.ShouldBe("social");
        audit.Agent.Single(a => a.Type.Coding[0].Code == "159541003").Who.Identifier.Value.ShouldBe("region");

        var details = audit.Entity.Single(e => e.Role?.Code == "3").Detail.ToDictionary(d => d.Type, d => d.Value);
        ((Base64Binary)details["hash"]).Value.ShouldBe(entry.Hash);
        ((Base64Binary)details["prev-hash"]).Value.ShouldBe(entry.PrevHash);
        JsonSerializer.Serialize(audit, Fhir).ShouldNotContain(Child);
    }

    [Fact]
    public void AuditEvent_DisclosureAtTheSource_IsShapedAfterBalp()
    {
        var audit = FhirAuditEvents.Of(Entry(LedgerKind.Decision, LedgerOutcome.Permitted), Registry);

        audit.Type.System.ShouldBe("http://dicom.nema.org/resources/ontology/DCM");
        audit.Type.Code.ShouldBe("110106");
        audit.Action.ShouldBe(AuditEvent.AuditEventAction.R);
        audit.Subtype.ShouldContain(c => c.System == "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle" && c.Code == "disclose");
        audit.PurposeOfEvent.Single().Coding[0].Code.ShouldBe("Referral");
        audit.Agent.Where(a => a.Requestor == true).Select(a => a.Who.Identifier.Value).ShouldBe(["bvc-ehr", "SE2321000016-BVC1"]);
        audit.Entity.ShouldContain(e => e.What.Reference == $"Consent/{ConsentId}");
    }

    private static readonly Guid ConsentId = Guid.CreateVersion7();

    private static LedgerEntry Entry(LedgerKind kind, LedgerOutcome outcome) => new()
    {
        Seq = 42,
        MessageId = Guid.CreateVersion7(),
        Kind = kind,
        Outcome = outcome,
        ConsentVersion = outcome == LedgerOutcome.Version ? 2 : null,
        SendingUnit = "bvc",
        ReceivingUnit = "social",
        ActingSystem = "bvc-ehr",
        ActingUser = "SE2321000016-BVC1",
        SubjectPseudonym = "p-0123456789abcdef01234567",
        Purpose = "Referral",
        Categories = outcome == LedgerOutcome.Version ? ["FamilySituation"] : ["FamilySituation", "ParentingSupport"],
        Basis = outcome == LedgerOutcome.Permitted ? "consent" : null,
        ConsentId = ConsentId,
        Reasons = outcome == LedgerOutcome.Refused ? ["no-consent"] : [],
        Review = false,
        At = Now,
        Digest = kind is LedgerKind.Decision or LedgerKind.Conflict ? new byte[32] : null,
        PrevHash = [1, 2, 3],
        Hash = [4, 5, 6],
    };
}
