using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support.Fhir;
using AuditEvent = Hl7.Fhir.Model.AuditEvent;
using Bundle = Hl7.Fhir.Model.Bundle;
using FhirConsent = Hl7.Fhir.Model.Consent;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The FHIR R4 exports through the gateway, read with Firely's strict parser and validated against the R4 specification
/// as a receiving system would (docs/accountability.md, "FHIR exports"), and given only to whom the rules allow.
/// </summary>
public sealed class FhirExportTests(HubFixture hub)
{
    private const string Staff = "region-loggranskning";
    private const string AuditEventsPath = "/consent/ledger/audit-events";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConsentExport_ForTheDisclosingUnit_IsAValidHistoryOfEveryVersion()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var consentId = await RecordAsync(bvc, subject);
        (await bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}/revoke",
            new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        var response = await bvc.GetAsync($"{DemoRequests.ConsentPath}/{consentId}/fhir", Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/fhir+json");
        var bundle = FhirValidation.Parse<Bundle>(await response.Content.ReadAsStringAsync(Ct));
        FhirValidation.Errors(bundle).ShouldBeEmpty();
        var versions = bundle.Entry.Select(e => (FhirConsent)e.Resource!).ToList();
        versions.Select(v => v.Status).ShouldBe([FhirConsent.ConsentState.Active, FhirConsent.ConsentState.Inactive]);
        versions[0].Patient!.Identifier!.Value.ShouldBe(subject);
    }

    [Fact]
    public async Task ConsentExport_ForAReceivingUnitOrAStranger_IsRefused()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var preschool = hub.Client("forskola-system");
        var consentId = await RecordAsync(bvc, HubFixture.NewSubject());

        // The receiver may read what the consent permits, never whom it is about: the export names the subject.
        (await social.GetAsync($"{DemoRequests.ConsentPath}/{consentId}/fhir", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await preschool.GetAsync($"{DemoRequests.ConsentPath}/{consentId}/fhir", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AuditEvents_ForStaffWithTheFollowUpDuty_AreTheUnitsEntriesAsValidFhir()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var staff = hub.Client(Staff);
        var subject = HubFixture.NewSubject();
        await RecordAsync(bvc, subject);
        var sent = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        var messageId = (await sent.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{messageId}", "Delivered");
        var from = DateTimeOffset.UtcNow.AddMinutes(-10).ToString("O");

        var events = new List<AuditEvent>();
        var next = $"{AuditEventsPath}?unit={DemoRequests.ChildHealthUnit}&from={Uri.EscapeDataString(from)}&count=50";
        while (next is not null && events.Count < 5000)
        {
            var response = await staff.GetAsync(next, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
            var page = FhirValidation.Parse<Bundle>(await response.Content.ReadAsStringAsync(Ct));
            FhirValidation.Errors(page).ShouldBeEmpty();
            events.AddRange(page.Entry.Select(e => (AuditEvent)e.Resource!));
            next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url;
        }

        events.ShouldAllBe(e => e.Agent.Any(a => a.Who!.Identifier!.Value == DemoRequests.ChildHealthUnit));
        var ours = events.Where(e => e.Entity.Any(x => x.What?.Identifier?.Value == "urn:uuid:" + messageId)).ToList();
        ours.Select(e => e.Subtype.First().Code).ShouldBe(["decision", "delivery"], ignoreOrder: true);
        string.Concat(events.Select(e => e.Entity.First().What!.Identifier!.Value)).ShouldNotContain(subject);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    /// <summary>
    /// A refusal never reveals to the receiver that a message existed (domain.md section 5): the receiving unit's log
    /// follow-up is of what was disclosed to it, so a referral refused on its way there is not among its entries.
    /// </summary>
    [Fact]
    public async Task AuditEvents_ForTheReceivingUnit_LeaveOutWhatWasRefusedOnItsWayThere()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var staff = hub.Client(Staff);
        var from = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O");
        var sent = await social.PostAsJsonAsync($"/social-services/units/{DemoRequests.SocialServicesUnit}/referrals", new
        {
            receivingUnit = DemoRequests.ChildHealthUnit, subjectId = HubFixture.NewSubject(), categories = new[] { "FamilySituation" },
            reason = "Familjen önskar kontakt med BVC.", actingUser = "SE2321000016-SOC1",
        }, Ct);
        sent.StatusCode.ShouldBe(HttpStatusCode.Accepted, await sent.Content.ReadAsStringAsync(Ct));
        var messageId = (await sent.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(social, $"/social-services/units/{DemoRequests.SocialServicesUnit}/sent/{messageId}", "Refused");

        var page = await staff.GetStringAsync($"{AuditEventsPath}?unit={DemoRequests.ChildHealthUnit}&from={Uri.EscapeDataString(from)}&count=500", Ct);

        page.ShouldNotContain(messageId.ToString());
    }

    /// <summary>
    /// A consent and a custody change name their receiving unit, but a receiver may learn what a consent permits, never
    /// whom it is about or who gave it: the receiving unit's log holds what was let through to it, not those.
    /// </summary>
    [Fact]
    public async Task AuditEvents_ForTheReceivingUnit_LeaveOutConsentsAndCustodyChangesNamingIt()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var staff = hub.Client(Staff);
        var from = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O");
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        var recorded = await social.PostAsJsonAsync(DemoRequests.ConsentPath, new
        {
            subjectId = subject,
            grantors = new[] { new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes", identityNumber = guardian } },
            bothGuardiansRequired = false,
            purposes = new[] { "Referral" },
            sendingUnits = new[] { DemoRequests.SocialServicesUnit },
            receivingUnits = new[] { DemoRequests.ChildHealthUnit },
            categories = new[] { "FamilySituation" },
            validUntil = DateTimeOffset.UtcNow.AddMonths(6),
            situation = "Kontakt med BVC efter samtal",
            journalReference = "Socialtjänstens journal, anteckning 4",
            recordedBy = "SE2120001579-SOC7",
            recordingUnit = DemoRequests.SocialServicesUnit,
        }, Ct);
        recorded.StatusCode.ShouldBe(HttpStatusCode.Created, await recorded.Content.ReadAsStringAsync(Ct));
        var consentId = (await recorded.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
        (await social.PostAsJsonAsync("/consent/custody-changes", new
        {
            subjectId = subject, grantorId = guardian, recordingUnit = DemoRequests.SocialServicesUnit, recordedBy = "SE2120001579-SOC7",
        }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var page = await staff.GetStringAsync($"{AuditEventsPath}?unit={DemoRequests.ChildHealthUnit}&from={Uri.EscapeDataString(from)}&count=500", Ct);
        page.ShouldNotContain(consentId.ToString(), customMessage: "the receiving unit's log named the consent");
        page.ShouldNotContain("custody-changed");

        // The follow-up's sample is drawn from the same entries: of others' entries, only disclosures let through to it.
        var followUp = await staff.PostAsJsonAsync("/consent/accountability/follow-ups", new
        {
            unit = DemoRequests.ChildHealthUnit, from, to = DateTimeOffset.UtcNow.AddSeconds(1), sampleSize = 500, requestedBy = "SE2321000016-LOGG1",
        }, Ct);
        followUp.StatusCode.ShouldBe(HttpStatusCode.OK, await followUp.Content.ReadAsStringAsync(Ct));
        var sample = (await followUp.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("sample").EnumerateArray()
            .Where(e => e.GetProperty("sendingUnit").GetString() != DemoRequests.ChildHealthUnit).Select(e => e.GetProperty("kind").GetString()).ToList();
        sample.ShouldAllBe(kind => kind == "decision" || kind == "delivery" || kind == "withdrawal" || kind == "acknowledgement");
    }

    [Fact]
    public async Task AuditEvents_WithoutTheDutyOrForAnotherUnit_AreRefused()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var staff = hub.Client(Staff);

        (await bvc.GetAsync($"{AuditEventsPath}?unit={DemoRequests.ChildHealthUnit}", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden,
            "acting for the unit is not enough to read its log");
        (await staff.GetAsync($"{AuditEventsPath}?unit={DemoRequests.SocialServicesUnit}", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden,
            "the region's staff follow up the region's units only");
        var bad = await staff.GetAsync($"{AuditEventsPath}?unit={DemoRequests.ChildHealthUnit}&from=199001011234&count=0", Ct);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadAsStringAsync(Ct)).ShouldNotContain("199001011234");
    }

    [Fact]
    public async Task StaffWithDuties_MayNotRecordOrChangeConsents()
    {
        using var staff = hub.Client(Staff);
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var consentId = await RecordAsync(bvc, subject);

        // The staff client acts for the BVC to see its disclosures; it must not use that to widen what the gate permits.
        (await staff.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await staff.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}/revoke",
            new { recordedBy = "SE2321000016-LOGG1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Prov" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await staff.PostAsJsonAsync("/consent/custody-changes",
            new { subjectId = subject, grantorId = "198001011236", recordingUnit = DemoRequests.ChildHealthUnit, recordedBy = "SE2321000016-LOGG1" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    /// <summary>
    /// The data controller's log follow-up reads a consent its audit events refer to as a receiving unit does: what it
    /// permits, neither whom it is about nor who gave it (the audit-event export is pseudonymous, domain.md section 8).
    /// Before, a duty client acting for the disclosing unit read it whole and exported it.
    /// </summary>
    [Fact]
    public async Task Consent_ReadByADutyClient_NamesNeitherTheSubjectNorTheGrantors()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var review = hub.Client(Staff);
        var subject = HubFixture.NewSubject();
        var url = $"{DemoRequests.ConsentPath}/{await RecordAsync(bvc, subject)}";

        var current = await review.GetAsync(url, Ct);
        var history = await review.GetAsync(url + "/history", Ct);
        var export = await review.GetAsync(url + "/fhir", Ct);

        current.StatusCode.ShouldBe(HttpStatusCode.OK);
        history.StatusCode.ShouldBe(HttpStatusCode.OK);
        var read = await current.Content.ReadAsStringAsync(Ct) + await history.Content.ReadAsStringAsync(Ct);
        read.ShouldContain(DemoRequests.SocialServicesUnit);
        read.ShouldNotContain(subject);
        read.ShouldNotContain("rdnadshavare");
        read.ShouldNotContain("grantors");
        export.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    private static async Task<Guid> RecordAsync(HttpClient bvc, string subject)
    {
        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
    }
}
