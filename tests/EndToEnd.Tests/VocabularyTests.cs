using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Each operation's own message types through the real gateway, broker, gate and databases: one flow per purpose,
/// and the idempotency key (docs/vocabulary.md).
/// </summary>
public sealed class VocabularyTests(HubFixture hub)
{
    private const string Mvc = "rosengard-mvc";
    private const string Bvc = DemoRequests.ChildHealthUnit;
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Preventive = DemoRequests.SocialServicesUnit;
    private const string Intake = "malmo-mottagning";
    private const string ActingUser = "SE2321000016-BVC1";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BirthHandover_MvcToBvcInOneCareUnit_IsDeliveredWithOnlyTheFilledSections()
    {
        using var mvc = hub.Client("mvc-ehr");
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();

        var (messageId, statusUrl) = await SubmitAsync(mvc, $"/maternity-care/units/{Mvc}/birth-handovers", new
        {
            receivingUnit = Bvc, subjectId = subject, pregnancy = "Okomplicerad graviditet, partus v 40.", newborn = "Frisk flicka, 3 600 g.",
            actingUser = "SE2321000016-MVC1",
        });

        (await HubFixture.WaitForStatusAsync(mvc, statusUrl, "Delivered")).GetProperty("basis").GetString().ShouldBe("same-secrecy-area");
        var item = await InboxItemAsync(bvc, $"/child-health/units/{Bvc}/inbox", messageId);
        item.GetProperty("purpose").GetString().ShouldBe("BirthHandover");
        item.GetProperty("categories").EnumerateArray().Select(c => c.GetString()).ShouldBe(["ChildHealth", "Pregnancy"], ignoreOrder: true);
        item.GetProperty("content").EnumerateObject().Select(p => p.Name).ShouldBe(["pregnancy", "newborn"], ignoreOrder: true);
    }

    [Fact]
    public async Task BirthHandover_WithNoSections_Gets400NamingTheFieldAndNothingIsSent()
    {
        using var mvc = hub.Client("mvc-ehr");

        var response = await mvc.PostAsJsonAsync($"/maternity-care/units/{Mvc}/birth-handovers", new { actingUser = ActingUser, receivingUnit = Bvc, subjectId = HubFixture.NewSubject() }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("pregnancy");
    }

    [Fact]
    public async Task ReportOfConcern_ChildKnownOnlyByName_ReachesTheIntakeWithoutConsentAndTheNameOnlyThere()
    {
        using var preschool = hub.Client("forskola-system");
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var name = $"Alva Testsson {Guid.NewGuid():N}";

        var (messageId, statusUrl) = await SubmitAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern", new
        {
            actingUser = ActingUser, receivingUnit = Intake,
            child = new { name, description = "Omkring 3 år, kommer med mormor på tisdagar" },
            concern = "Hungrig och frusen vid varje besök.",
            childsOwnWords = "Det finns ingen mat hemma.",
        });

        var delivered = await HubFixture.WaitForStatusAsync(preschool, statusUrl, "Delivered");
        delivered.GetProperty("basis").GetString().ShouldBe("report-of-concern");
        delivered.ToString().ShouldNotContain(name, customMessage: "the sender's status view carries no name");
        var item = await InboxItemAsync(social, $"/social-services/units/{Intake}/inbox", messageId);
        item.GetProperty("subjectId").GetString().ShouldBe($"unidentified-{messageId:N}");
        item.GetProperty("content").GetProperty("child").GetProperty("name").GetString().ShouldBe(name);
        item.GetProperty("categories").EnumerateArray().Select(c => c.GetString()).ShouldBe(["IdentityAndContact", "FamilySituation", "ChildsOwnStory"], ignoreOrder: true);
    }

    [Fact]
    public async Task CareHandover_IntakeToPreventive_CarriesTheChildsOwnStory()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();

        var (messageId, statusUrl) = await SubmitAsync(social, $"/social-services/units/{Intake}/care-handovers", new
        {
            actingUser = ActingUser, receivingUnit = Preventive, subjectId = subject,
            findings = "Konflikter hemma.",
            childsOwnStory = "Jag är rädd när de bråkar.",
            childsRatings = new[] { new { problemArea = "Bråk hemma", rating = 3, occasion = "Start" } },
        });

        (await HubFixture.WaitForStatusAsync(social, statusUrl, "Delivered")).GetProperty("basis").GetString().ShouldBe("same-secrecy-area");
        var item = await InboxItemAsync(social, DemoRequests.InboxPath, messageId);
        item.GetProperty("purpose").GetString().ShouldBe("CareHandover");
        item.GetProperty("content").GetProperty("childsOwnStory").GetString().ShouldBe("Jag är rädd när de bråkar.");
    }

    [Fact]
    public async Task JointPlan_BvcToOpenPreschool_IsPermittedForTheConsentedCategoriesAndRefusedForAnother()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();
        await RecordConsentAsync(bvc, subject, "JointPlan", Bvc, Preschool, ["ParentingSupport", "ChildHealth"]);
        var path = $"/child-health/units/{Bvc}/joint-plans";

        var (messageId, statusUrl) = await SubmitAsync(bvc, path, new
        {
            actingUser = ActingUser, receivingUnit = Preschool, subjectId = subject, plan = "Öppna förskolan erbjuder språkgrupp; BVC följer upp.", followUpOn = "2027-02-01",
            childHealth = "Försenad språkutveckling.",
        });
        (await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered")).GetProperty("basis").GetString().ShouldBe("consent");
        (await InboxItemAsync(preschool, $"/open-preschool/units/{Preschool}/inbox", messageId)).GetProperty("purpose").GetString().ShouldBe("JointPlan");

        // The same plan with the parent's health added carries a category the partial consent does not cover.
        var (_, refusedUrl) = await SubmitAsync(bvc, path, new { actingUser = ActingUser, receivingUnit = Preschool, subjectId = subject, plan = "Samma plan.", parentHealth = "Förälder sjukskriven." });
        var refused = await HubFixture.WaitForStatusAsync(bvc, refusedUrl, "Refused");
        refused.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldContain(r => r!.Contains("ParentHealth", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Referral_FromOpenPreschoolWithConsent_IsDelivered()
    {
        using var preschool = hub.Client("forskola-system");
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        await RecordConsentAsync(preschool, subject, "Referral", Preschool, Preventive, ["ParentingSupport"]);

        var (messageId, statusUrl) = await SubmitAsync(preschool, $"/open-preschool/units/{Preschool}/referrals", new
        {
            actingUser = ActingUser, receivingUnit = Preventive, subjectId = subject, categories = new[] { "ParentingSupport" }, reason = "Föräldern vill ha samtalsstöd.",
        });

        (await HubFixture.WaitForStatusAsync(preschool, statusUrl, "Delivered")).GetProperty("basis").GetString().ShouldBe("consent");
        (await InboxItemAsync(social, DemoRequests.InboxPath, messageId)).GetProperty("sendingUnit").GetString().ShouldBe(Preschool);
    }

    [Fact]
    public async Task JointActivity_ParentGroupFromMvcToOpenPreschool_CarriesOnlyItsSectionsCategories()
    {
        using var mvc = hub.Client("mvc-ehr");
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();
        await RecordConsentAsync(mvc, subject, "JointActivityPlanning", Mvc, Preschool, ["Attendance", "ParentingSupport"]);

        var (messageId, statusUrl) = await SubmitAsync(mvc, $"/maternity-care/units/{Mvc}/joint-activities", new
        {
            actingUser = ActingUser, receivingUnit = Preschool, subjectId = subject, activity = "ParentGroup",
            proposal = "Föräldragrupp på öppna förskolan, tisdagar 10–12.", needs = "Stöd i amning och sömn.",
        });

        (await HubFixture.WaitForStatusAsync(mvc, statusUrl, "Delivered")).GetProperty("basis").GetString().ShouldBe("consent");
        var item = await InboxItemAsync(preschool, $"/open-preschool/units/{Preschool}/inbox", messageId);
        item.GetProperty("purpose").GetString().ShouldBe("JointActivityPlanning");
        item.GetProperty("categories").EnumerateArray().Select(c => c.GetString()).ShouldBe(["Attendance", "ParentingSupport"], ignoreOrder: true);
    }

    [Fact]
    public async Task Inbox_PagedWithACursor_GivesEveryItemOnceInOrder()
    {
        using var mvc = hub.Client("mvc-ehr");
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var sent = new List<(Guid Id, string StatusUrl)>();
        for (var i = 0; i < 7; i++)
        {
            sent.Add(await SubmitAsync(mvc, $"/maternity-care/units/{Mvc}/birth-handovers", new { actingUser = ActingUser, receivingUnit = Bvc, subjectId = subject, newborn = $"Besök {i}." }));
        }

        foreach (var (_, statusUrl) in sent)
        {
            await HubFixture.WaitForStatusAsync(mvc, statusUrl, "Delivered");
        }

        var seen = new List<(long Cursor, Guid Id)>();
        string? after = null;
        do
        {
            var page = await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{Bvc}/inbox?limit=3{(after is null ? "" : "&after=" + after)}", Ct);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            items.Count.ShouldBeLessThanOrEqualTo(3);
            seen.AddRange(items.Select(i => (long.Parse(i.GetProperty("cursor").GetString()!, System.Globalization.CultureInfo.InvariantCulture), i.GetProperty("messageId").GetGuid())));
            after = page.GetProperty("next").ValueKind == JsonValueKind.String ? page.GetProperty("next").GetString() : null;
        }
        while (after is not null);

        seen.Select(s => s.Cursor).ShouldBe(seen.Select(s => s.Cursor).Order(), "pages continue where the last one ended");
        seen.Select(s => s.Id).ShouldBeUnique();
        seen.Select(s => s.Id).Where(id => sent.Any(m => m.Id == id)).ShouldBe(sent.Select(m => m.Id), ignoreOrder: true);
    }

    [Fact]
    public async Task Referral_SameIdempotencyKeyTwice_IsOneMessageAndOneInboxRow()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var key = $"vocabulary-{Guid.NewGuid():N}";

        var first = await SubmitAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), key);
        var second = await SubmitAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), key);

        second.ShouldBe(first);
        await HubFixture.WaitForStatusAsync(bvc, first.StatusUrl, "Delivered");
        await Task.Delay(TimeSpan.FromSeconds(1), Ct); // room for a second delivery, were there one
        var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500&includeAcknowledged=true", Ct);
        inbox.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("messageId").GetGuid() == first.MessageId).ShouldBe(1);
    }

    [Fact]
    public async Task OpenApi_OfAService_ListsExactlyItsVocabulary()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);

        var document = await social.GetFromJsonAsync<JsonElement>("/social-services/openapi/v1.json", Ct);

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        paths.ShouldContain("/units/{unitId}/care-handovers");
        paths.ShouldContain("/units/{unitId}/referrals");
        paths.ShouldNotContain("/units/{unitId}/birth-handovers");
    }

    private static async Task<(Guid MessageId, string StatusUrl)> SubmitAsync(HttpClient client, string path, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await client.SendAsync(request, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var submitted = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return (submitted.GetProperty("messageId").GetGuid(), submitted.GetProperty("statusUrl").GetString()!);
    }

    private static async Task<JsonElement> InboxItemAsync(HttpClient receiver, string inboxPath, Guid messageId)
    {
        var inbox = await receiver.GetFromJsonAsync<JsonElement>(inboxPath + "?limit=500", Ct);
        return inbox.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("messageId").GetGuid() == messageId);
    }

    private static async Task RecordConsentAsync(HttpClient client, string subject, string purpose, string from, string to, string[] categories)
    {
        var response = await client.PostAsJsonAsync(DemoRequests.ConsentPath, new
        {
            subjectId = subject,
            grantors = new[] { new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes" } },
            purposes = new[] { purpose },
            sendingUnits = new[] { from },
            receivingUnits = new[] { to },
            categories,
            validUntil = DateTimeOffset.UtcNow.AddMonths(6),
            situation = "Gemensamt arbete på familjecentralen",
            journalReference = "Journal 2026-11-22 anteckning 1",
            recordedBy = "SE2321000016-X1",
            recordingUnit = from,
        }, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
    }
}
