using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The legal bases other than consent through the gateway (domain.md section 4): a message permitted on one reaches its
/// receiver with what the sender showed for it, the assessment reference and the assessor of a harm assessment, or the
/// written justification of a protective basis; an assessor not designated for the sending unit is no basis; and a
/// "report of concern" about the expectant parent herself is no mandatory report, while the protective basis for the
/// expected child is.
/// </summary>
public sealed class LegalBasisTests(HubFixture hub)
{
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Intake = "malmo-mottagning";
    private const string MvcUnit = "rosengard-mvc";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HarmAssessment_ByADesignatedAssessor_ReachesTheReceiverWithItsReferenceAndAssessor()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();

        var (messageId, statusUrl) = await ReferAsync(bvc, subject, new
        {
            basis = "harm-assessment", assessmentReference = "BVC-journal 2026-11-28 anteckning 4", assessor = "SE2321000016-BVC9",
        });
        var delivered = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");
        var item = await preschool.GetFromJsonAsync<JsonElement>($"/open-preschool/units/{Preschool}/inbox/{messageId}", Ct);

        delivered.GetProperty("basis").GetString().ShouldBe("harm-assessment");
        item.GetProperty("basis").GetString().ShouldBe("harm-assessment");
        var evidence = item.GetProperty("basisEvidence");
        evidence.GetProperty("assessmentReference").GetString().ShouldBe("BVC-journal 2026-11-28 anteckning 4");
        evidence.GetProperty("assessor").GetString().ShouldBe("SE2321000016-BVC9");
        (await preschool.PostAsync($"/open-preschool/units/{Preschool}/inbox/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task HarmAssessment_ByAnAssessorNotDesignatedForTheUnit_IsRefused_AndABadAssessorIs400()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();

        var (_, statusUrl) = await ReferAsync(bvc, subject, new
        {
            basis = "harm-assessment", assessmentReference = "BVC-journal 2026-11-28 anteckning 5", assessor = "SE2321000016-BVC1",
        });
        var refused = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Refused");
        var numbered = await bvc.PostAsJsonAsync($"/child-health/units/{DemoRequests.ChildHealthUnit}/referrals", Referral(subject, new
        {
            basis = "harm-assessment", assessmentReference = "BVC-journal", assessor = "SE" + subject[2..] + "-BVC9",
        }), Ct);

        refused.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldContain(r => r!.Contains("assessor designated", StringComparison.Ordinal));
        numbered.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await numbered.Content.ReadAsStringAsync(Ct)).ShouldNotContain(subject[2..]);
    }

    /// <summary>
    /// A claim the gate does not rely on carries nothing to the receiver: a sender that "claims" consent, with a
    /// justification and an assessor, is permitted on the consent it has, and the receiver sees no evidence of a claim.
    /// </summary>
    [Fact]
    public async Task AClaimTheGateDidNotRelyOn_CarriesNoEvidence()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var response = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, new
        {
            receivingUnit = DemoRequests.SocialServicesUnit, subjectId = subject, categories = new[] { "ParentingSupport" },
            reason = "Föräldrastöd.", actingUser = "SE2321000016-BVC1",
            basis = new { basis = "consent", justification = "Jag intygar att allt är i sin ordning.", assessor = "SE2321000016-BVC9" },
        }, Ct);
        var (messageId, statusUrl) = await AcceptedAsync(response);
        var delivered = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");
        var item = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}/{messageId}", Ct);

        delivered.GetProperty("basis").GetString().ShouldBe("consent");
        item.GetProperty("basisEvidence").ValueKind.ShouldBe(JsonValueKind.Null);
        item.ToString().ShouldNotContain("Jag intygar");
        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    /// <summary>
    /// Maternity care's concern for the expected child is about the expectant parent, who is of age: as a report of concern
    /// alone it is refused (the duty to report is about a child), and she is not told of any "no" of hers being overridden;
    /// with the protective basis (OSL 25:12) and its justification it reaches the intake, recorded under that basis, with
    /// the justification for the intake to read.
    /// </summary>
    [Fact]
    public async Task ConcernForTheExpectedChild_NeedsTheProtectiveBasis_AndCarriesItsJustification()
    {
        using var mvc = hub.Client("mvc-ehr");
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var mother = HubFixture.NewAdult();
        const string justification = "Insats behövs till skydd för det väntade barnet: missbruk under graviditeten.";

        var (_, unclaimedUrl) = await ReportAsync(mvc, mother, null);
        var (messageId, claimedUrl) = await ReportAsync(mvc, mother, new { basis = "protect-child-from-health-care", justification });
        var unclaimed = await HubFixture.WaitForStatusAsync(mvc, unclaimedUrl, "Refused");
        var delivered = await HubFixture.WaitForStatusAsync(mvc, claimedUrl, "Delivered");
        var item = await social.GetFromJsonAsync<JsonElement>($"/social-services/units/{Intake}/inbox/{messageId}", Ct);

        unclaimed.GetProperty("status").GetString().ShouldBe("Refused");
        unclaimed.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldContain(r => r!.Contains("report about a child", StringComparison.Ordinal));
        delivered.GetProperty("basis").GetString().ShouldBe("protect-child-from-health-care");
        item.GetProperty("basisEvidence").GetProperty("justification").GetString().ShouldBe(justification);
        unclaimed.ToString().ShouldNotContain(mother);
        (await social.PostAsync($"/social-services/units/{Intake}/inbox/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    private static object Referral(string subject, object basis) => new
    {
        receivingUnit = Preschool,
        subjectId = subject,
        categories = new[] { "FamilySituation" },
        reason = "Föräldragrupp; bedömt utan men för barnet.",
        actingUser = "SE2321000016-BVC1",
        basis,
    };

    private static async Task<(Guid Id, string StatusUrl)> ReferAsync(HttpClient bvc, string subject, object basis)
    {
        var response = await bvc.PostAsJsonAsync($"/child-health/units/{DemoRequests.ChildHealthUnit}/referrals", Referral(subject, basis), Ct);
        return await AcceptedAsync(response);
    }

    private static async Task<(Guid Id, string StatusUrl)> ReportAsync(HttpClient mvc, string subject, object? basis)
    {
        var response = await mvc.PostAsJsonAsync($"/maternity-care/units/{MvcUnit}/reports-of-concern", new
        {
            receivingUnit = Intake,
            subjectId = subject,
            concern = "Den blivande mamman berättar om missbruk under graviditeten.",
            actingUser = "SE2321000016-MVC1",
            basis,
        }, Ct);
        return await AcceptedAsync(response);
    }

    private static async Task<(Guid Id, string StatusUrl)> AcceptedAsync(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return (body.GetProperty("messageId").GetGuid(), body.GetProperty("statusUrl").GetString()!);
    }
}
