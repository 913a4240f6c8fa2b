using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support.Fhir;
using Bundle = Hl7.Fhir.Model.Bundle;
using FhirConsent = Hl7.Fhir.Model.Consent;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The FHIR R4 exports through the gateway, read with Firely's strict parser and validated against the R4 specification
/// as a receiving system would (docs/accountability.md, "FHIR exports"), and given only to whom the rules allow.
/// </summary>
public sealed class FhirExportTests(HubFixture hub)
{
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

    private static async Task<Guid> RecordAsync(HttpClient bvc, string subject)
    {
        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
    }
}
