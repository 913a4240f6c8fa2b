using System.Globalization;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Hl7.Fhir.Model;

namespace FamiljecentralHub.Consent.Features.Fhir;

/// <summary>
/// Each ledger entry as an R4 <c>AuditEvent</c> shaped after IHE BALP's privacy disclosure at the source
/// (IHE.BasicAudit.PrivacyDisclosure.Source): the sending unit as the source agent, the receiving unit as the recipient,
/// the sending unit's principal as the custodian that released the data, the client system and the acting user as the
/// requestors, the subject as the patient entity and the message as the data entity. The subject is named only by its
/// keyed pseudonym, as in the ledger itself. The hash chain travels with each entry, so an auditor holding an export can
/// check the links without access to the hub. Not declared as conforming to the profile: BALP requires a network
/// address for each agent, and the hub knows units, not their machines.
/// </summary>
public static class FhirAuditEvents
{
    private const string Dicom = "http://dicom.nema.org/resources/ontology/DCM";
    private const string Lifecycle = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";

    public static AuditEvent Of(LedgerEntry entry, OrganisationRegistry organisation)
    {
        var (type, action, lifecycle) = Classify(entry.Kind);
        var audit = new AuditEvent
        {
            Id = entry.Seq.ToString(CultureInfo.InvariantCulture),
            Type = type,
            Action = action,
            Recorded = entry.At,
            Outcome = entry.Outcome is LedgerOutcome.Refused or LedgerOutcome.Conflict
                ? AuditEvent.AuditEventOutcome.N4
                : AuditEvent.AuditEventOutcome.N0,
            OutcomeDesc = entry.Reasons.Length > 0 ? string.Join(", ", entry.Reasons) : null,
            PurposeOfEvent = [.. entry.Purpose.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => new CodeableConcept(FhirSystems.Purpose, p))],
            Source = new AuditEvent.SourceComponent
            {
                Site = "FamiljecentralHub",
                Observer = new ResourceReference { Type = "Device", Display = "FamiljecentralHub, the secrecy gate's decision ledger" },
                Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
            },
        };

        audit.Subtype.Add(new Coding(FhirSystems.LedgerKind, entry.KindText));
        if (lifecycle is not null)
        {
            audit.Subtype.Add(new Coding(Lifecycle, lifecycle));
        }

        audit.Agent.Add(Agent(Dicom, "110153", "Source Role ID", FhirSystems.UnitReference(entry.SendingUnit, organisation), requestor: false));
        audit.Agent.Add(Agent(Dicom, "110152", "Destination Role ID", FhirSystems.UnitReference(entry.ReceivingUnit, organisation), requestor: false));
        if (organisation.FindUnit(entry.SendingUnit) is { } sender)
        {
            var principal = organisation.PrincipalOf(sender);
            audit.Agent.Add(Agent("http://snomed.info/sct", "159541003", "Record keeping/library clerk",
                new ResourceReference { Type = "Organization", Identifier = new Identifier(FhirSystems.Principal, principal.Id), Display = principal.Name },
                requestor: false));
        }

        audit.Agent.Add(Agent(Dicom, "110150", "Application",
            new ResourceReference { Type = "Device", Identifier = new Identifier(FhirSystems.ClientSystem, entry.ActingSystem) }, requestor: true));
        if (entry.ActingUser is { Length: > 0 } user)
        {
            audit.Agent.Add(Agent("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", "human user",
                new ResourceReference { Type = "Practitioner", Identifier = new Identifier(FhirSystems.ActingUser, user) }, requestor: true));
        }

        audit.Entity.Add(new AuditEvent.EntityComponent
        {
            What = new ResourceReference { Type = "Patient", Identifier = new Identifier(FhirSystems.SubjectPseudonym, entry.SubjectPseudonym) },
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
            Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
        });
        audit.Entity.Add(new AuditEvent.EntityComponent
        {
            What = new ResourceReference { Identifier = new Identifier("urn:ietf:rfc:3986", "urn:uuid:" + entry.MessageId) },
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
            Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "3", "Report"),
            Detail = Details(entry),
        });
        if (entry.ConsentId is { } consentId)
        {
            audit.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference(entry.ConsentVersion is { } version ? $"Consent/{consentId}/_history/{version}" : $"Consent/{consentId}"),
                Type = new Coding("http://hl7.org/fhir/resource-types", "Consent", "Consent"),
            });
        }

        return audit;
    }

    /// <summary>A page of entries as a search result, with the link to the next page when there is one.</summary>
    public static Bundle Page(IReadOnlyList<LedgerEntry> entries, OrganisationRegistry organisation, Uri self, Uri? next)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = self.ToString() });
        if (next is not null)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = next.ToString() });
        }

        bundle.Entry.AddRange(entries.Select(entry => new Bundle.EntryComponent
        {
            FullUrl = $"urn:familjecentralhub:ledger:{entry.Seq.ToString(CultureInfo.InvariantCulture)}",
            Resource = Of(entry, organisation),
            Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
        }));
        return bundle;
    }

    /// <summary>
    /// A disclosure and what follows it are BALP's export at the source; a consent entry changes the record that the gate
    /// decides by (DICOM's patient record event); anything else the hub records is an application activity.
    /// </summary>
    private static (Coding Type, AuditEvent.AuditEventAction Action, string? Lifecycle) Classify(LedgerKind kind) => kind switch
    {
        LedgerKind.Decision or LedgerKind.Conflict => (Export, AuditEvent.AuditEventAction.R, "disclose"),
        LedgerKind.Delivery => (Export, AuditEvent.AuditEventAction.R, "transmit"),
        LedgerKind.Acknowledgement => (new Coding(Dicom, "110107", "Import"), AuditEvent.AuditEventAction.C, "receive"),
        LedgerKind.Withdrawal => (Export, AuditEvent.AuditEventAction.D, "deprecate"),
        LedgerKind.ConsentRecorded => (PatientRecord, AuditEvent.AuditEventAction.C, "originate"),
        LedgerKind.ConsentChanged or LedgerKind.ConsentNarrowed or LedgerKind.CustodyChanged => (PatientRecord, AuditEvent.AuditEventAction.U, "amend"),
        LedgerKind.ConsentRevoked => (PatientRecord, AuditEvent.AuditEventAction.U, "deprecate"),
        _ => (new Coding(Dicom, "110100", "Application Activity"), AuditEvent.AuditEventAction.E, null),
    };

    private static Coding Export => new(Dicom, "110106", "Export");

    private static Coding PatientRecord => new(Dicom, "110110", "Patient Record");

    private static AuditEvent.AgentComponent Agent(string system, string code, string display, ResourceReference who, bool requestor) => new()
    {
        Type = new CodeableConcept(system, code, display),
        Who = who,
        Requestor = requestor,
    };

    /// <summary>What the gate decided on, and the entry's place in the hash chain.</summary>
    private static List<AuditEvent.DetailComponent> Details(LedgerEntry entry)
    {
        var details = new List<AuditEvent.DetailComponent>
        {
            Text("outcome", entry.OutcomeText),
            Text("review", entry.Review ? "true" : "false"),
            Binary("prev-hash", entry.PrevHash),
            Binary("hash", entry.Hash),
        };
        if (entry.Categories.Length > 0)
        {
            details.Add(Text("categories", string.Join(",", entry.Categories)));
        }

        if (entry.Basis is { Length: > 0 } basis)
        {
            details.Add(Text("basis", basis));
        }

        if (entry.Digest is { } digest)
        {
            details.Add(Binary("submission-digest", digest));
        }

        return details;
    }

    private static AuditEvent.DetailComponent Text(string type, string value) => new() { Type = type, Value = new FhirString(value) };

    private static AuditEvent.DetailComponent Binary(string type, byte[] value) => new() { Type = type, Value = new Base64Binary(value) };
}
