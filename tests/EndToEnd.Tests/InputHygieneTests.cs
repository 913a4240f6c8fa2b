using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Hostile input at the edge, through the real gateway (issue 10, findings 3, 5 and 6): each is refused with a bounded
/// 400 ProblemDetails that repeats nothing of the input, and nothing is published.
/// </summary>
public sealed class InputHygieneTests(HubFixture hub)
{
    private const string Bvc = DemoRequests.ChildHealthUnit;
    private const string Intake = "malmo-mottagning";
    private const string ReportsPath = $"/child-health/units/{Bvc}/reports-of-concern";
    private const string HandoversPath = $"/social-services/units/{DemoRequests.SocialServicesUnit}/care-handovers";
    private const string ActingUser = "SE2321000016-BVC1";

    /// <summary>Well-formed (a real date and check digit) and found nowhere else: an echo of it can come only from this test.</summary>
    private const string PlantedNumber = "19370115-9810";
    private const string PlantedDigits = "193701159810";
    private const string PlantedName = "Ingegerd Planterad";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("\u0000")]
    [InlineData("\u0007")]
    [InlineData("\u001b[31m")]
    [InlineData("\u0085")]
    [InlineData("\u202e")]
    [InlineData("\ufffe")]
    public async Task ReportOfConcern_ControlCharacterInText_Gets400AndNothingIsPublished(string control)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();

        var response = await bvc.PostAsJsonAsync(ReportsPath, new
        {
            receivingUnit = Intake, subjectId = subject, concern = $"Blåmärken{control} på armarna.", actingUser = ActingUser,
        }, Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        await ShouldPublishNothingAboutAsync(subject);
    }

    [Fact]
    public async Task ReportOfConcern_LoneSurrogateInText_Gets400AndNothingIsPublished()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var body = $$"""{"receivingUnit":"{{Intake}}","subjectId":"{{subject}}","concern":"Oro \ud800 här","actingUser":"{{ActingUser}}"}""";

        var response = await bvc.PostAsync(ReportsPath, Json(body), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        await ShouldPublishNothingAboutAsync(subject);
    }

    [Fact]
    public async Task ReportOfConcern_TabsAndNewlinesInText_AreAccepted()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var response = await bvc.PostAsJsonAsync(ReportsPath, new
        {
            receivingUnit = Intake, subjectId = HubFixture.NewSubject(), concern = "Första besöket:\r\n\tblåmärken.\nAndra besöket: inga.", actingUser = ActingUser,
        }, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
    }

    [Theory]
    [InlineData(ReportsPath)]
    [InlineData("/consent/consents")]
    [InlineData($"/child-health/units/{Bvc}/webhook")]
    public async Task NullBody_Gets400(string path)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var response = path.EndsWith("/webhook", StringComparison.Ordinal)
            ? await bvc.PutAsync(path, Json("null"), Ct)
            : await bvc.PostAsync(path, Json("null"), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Referral_NullAmongCategories_Gets400()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var body = $$"""{"receivingUnit":"{{DemoRequests.SocialServicesUnit}}","subjectId":"{{HubFixture.NewSubject()}}","categories":["FamilySituation",null],"reason":"Stöd.","actingUser":"{{ActingUser}}"}""";

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, Json(body), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task CareHandover_NullAmongRatings_Gets400()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var body = $$"""{"receivingUnit":"{{Intake}}","subjectId":"{{HubFixture.NewSubject()}}","childsRatings":[null],"findings":"x","actingUser":"{{ActingUser}}"}""";

        var response = await social.PostAsync(HandoversPath, Json(body), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    /// <summary>
    /// The API's vocabulary is its names. A number, a number in quotes or a combination ("A, B", which the converter
    /// reads as flags whatever the enum) is none of them: stored, it would be ledgered as a number and matched by no rule.
    /// </summary>
    [Theory]
    [InlineData("[99]")]
    [InlineData("""["99"]""")]
    [InlineData("""["FamilySituation", 1]""")]
    public async Task Referral_CategoryNotANamedValue_Gets400AndNothingIsDecided(string categories)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var body = $$"""{"receivingUnit":"{{DemoRequests.SocialServicesUnit}}","subjectId":"{{subject}}","categories":{{categories}},"reason":"Stöd.","actingUser":"{{ActingUser}}"}""";

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, Json(body), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        await ShouldPublishNothingAboutAsync(subject);
    }

    /// <summary>A log extract's requester decides which proxy rules apply: a number must not stand for a third kind.</summary>
    [Theory]
    [InlineData("2")]
    [InlineData("\"7\"")]
    public async Task LogExtract_RequesterNotANamedValue_Gets400(string requester)
    {
        using var staff = hub.Client("region-loggranskning");
        var body = $$"""{"subjectId":"{{HubFixture.NewSubject()}}","requester":{{requester}},"protectedIdentity":true,"requestedBy":"SE2321000016-LOGG1"}""";

        var response = await staff.PostAsync("/consent/accountability/log-extracts", Json(body), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Consent_PurposeOrAnswerNotANamedValue_Gets400()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(HubFixture.NewSubject(), DateTimeOffset.UtcNow), JsonSerializerOptions.Web)!.AsObject();
        var withPurpose = consent.DeepClone().AsObject();
        withPurpose["purposes"] = new System.Text.Json.Nodes.JsonArray("Referral, JointPlan, JointActivityPlanning, ReportOfConcern, CareHandover, BirthHandover");
        var withAnswer = consent.DeepClone().AsObject();
        withAnswer["grantors"]![0]!["answer"] = 7;

        await ShouldBeBoundedProblemAsync(await bvc.PostAsync(DemoRequests.ConsentPath, Json(withPurpose.ToJsonString()), Ct), HttpStatusCode.BadRequest);
        await ShouldBeBoundedProblemAsync(await bvc.PostAsync(DemoRequests.ConsentPath, Json(withAnswer.ToJsonString()), Ct), HttpStatusCode.BadRequest);
    }

    /// <summary>
    /// A client that accepts only HTML still gets the problem, and the value that did not bind reaches no log: a problem
    /// writer that refused would leave the exception to the framework, which logs it whole.
    /// </summary>
    [Fact]
    public async Task Inbox_BadQuery_AcceptingOnlyHtml_Gets400ProblemAndLogsNoValue()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{DemoRequests.InboxPath}?limit={PlantedNumber}");
        request.Headers.Accept.ParseAdd("text/html");

        var response = await social.SendAsync(request, Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        hub.Hub.Services["social-services"].LogTail(400).ShouldNotContain(PlantedNumber);
    }

    [Theory]
    [InlineData("x-hostile")]
    [InlineData("utf-7")]
    public async Task Referral_BodyNotInUtf8_Gets415(string charset)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var body = $$"""{"receivingUnit":"{{DemoRequests.SocialServicesUnit}}","subjectId":"{{HubFixture.NewSubject()}}","categories":["FamilySituation"],"reason":"Stöd.","actingUser":"{{ActingUser}}"}""";
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, content, Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Theory]
    [InlineData("""{"receivingUnit":{"a":1}}""")]
    [InlineData("""{"categories":"FamilySituation"}""")]
    [InlineData("""{"subjectId":12345}""")]
    [InlineData("""[1,2,3]""")]
    [InlineData("""{"receivingUnit":""")]
    public async Task Referral_WrongTypedOrBrokenBody_Gets400ProblemWithoutInternals(string body)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, Json(body), Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    /// <summary>One problem per item once made a 900 KB request a 57 MB answer.</summary>
    [Fact]
    public async Task CareHandover_900KbOfBadRatings_GetsABoundedAnswer()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var ratings = string.Join(',', Enumerable.Repeat("{}", 300_000));
        var body = $$"""{"receivingUnit":"{{Intake}}","subjectId":"{{HubFixture.NewSubject()}}","childsRatings":[{{ratings}}],"actingUser":"{{ActingUser}}"}""";
        Encoding.UTF8.GetByteCount(body).ShouldBeGreaterThan(850_000);

        var response = await social.PostAsync(HandoversPath, Json(body), Ct);

        var text = await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        text.Length.ShouldBeLessThan(8_000);
    }

    [Fact]
    public async Task Consent_900KbOfUnknownUnits_GetsABoundedAnswer()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var units = Enumerable.Range(0, 60_000).Select(i => $"u{i:x}").ToArray();
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(HubFixture.NewSubject(), DateTimeOffset.UtcNow))!.AsObject();
        consent["receivingUnits"] = JsonSerializer.SerializeToNode(units);

        var response = await bvc.PostAsync(DemoRequests.ConsentPath, Json(consent.ToJsonString()), Ct);

        var text = await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        text.Length.ShouldBeLessThan(8_000);
    }

    [Theory]
    [InlineData("receivingUnit")]
    [InlineData("actingUser")]
    [InlineData("subjectId")]
    [InlineData("reason")]
    public async Task Referral_IdentityNumberOrNameInAField_IsNotEchoed(string field)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        foreach (var planted in (string[])[PlantedNumber, PlantedDigits, PlantedName])
        {
            var body = JsonSerializer.SerializeToNode(DemoRequests.Referral(HubFixture.NewSubject()))!.AsObject();
            // Some plantings are valid (a subject's number): break the request elsewhere, so that it is refused with the
            // planted value in it.
            body[field] = field == "reason" ? planted + "\u0000" : planted;
            body["categories"] = new JsonArray();

            var response = await bvc.PostAsync(DemoRequests.ReferralPath, Json(body.ToJsonString()), Ct);

            var text = await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
            ShouldNotEcho(text, response, planted);
        }
    }

    [Fact]
    public async Task UnitIdInThePath_IsNotEchoed()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        foreach (var path in (string[])[$"/child-health/units/{PlantedDigits}/inbox", $"/child-health/units/{PlantedNumber}/sent",
                     $"/child-health/units/{Uri.EscapeDataString(PlantedName)}/referrals"])
        {
            var response = path.EndsWith("referrals", StringComparison.Ordinal)
                ? await bvc.PostAsJsonAsync(path, DemoRequests.Referral(HubFixture.NewSubject()), Ct)
                : await bvc.GetAsync(path, Ct);

            ((int)response.StatusCode).ShouldBeInRange(400, 499);
            ShouldNotEcho(await response.Content.ReadAsStringAsync(Ct), response, PlantedDigits);
            ShouldNotEcho(await response.Content.ReadAsStringAsync(Ct), response, "Ingegerd");
        }
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=100000")]
    [InlineData("?limit=abc")]
    [InlineData("?after=not-a-cursor")]
    [InlineData("?after=-5")]
    public async Task Inbox_BadQuery_Gets400(string query)
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);

        var response = await social.GetAsync(DemoRequests.InboxPath + query, Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("?before=not-a-message-id")]
    [InlineData("?limit=-1")]
    public async Task Sent_BadQuery_Gets400(string query)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var response = await bvc.GetAsync($"/child-health/units/{Bvc}/sent{query}", Ct);

        await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }

    public static TheoryData<string> BadActingUsers => new()
    {
        "",
        "   ",
        PlantedDigits,
        PlantedNumber,
        "SE2321000016-" + PlantedDigits,
        "SE" + PlantedDigits[2..] + "-BVC1",
        "SE16" + PlantedDigits[2..] + "-BVC1",
        new string('A', 200_000),
        "Anna Andersson",
        "SE2321000016-BVC1\n",
    };

    [Theory]
    [MemberData(nameof(BadActingUsers))]
    public async Task Referral_ActingUserNotAnHsaId_Gets400AndIsNotEchoed(string actingUser)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var body = JsonSerializer.SerializeToNode(DemoRequests.Referral(subject))!.AsObject();
        body["actingUser"] = actingUser;

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, Json(body.ToJsonString()), Ct);

        var text = await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        if (actingUser.Trim().Length >= 4)
        {
            ShouldNotEcho(text, response, actingUser.Trim()[..Math.Min(40, actingUser.Trim().Length)]);
        }

        await ShouldPublishNothingAboutAsync(subject);
    }

    [Fact]
    public async Task Referral_WithoutActingUser_Gets400()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var body = JsonSerializer.SerializeToNode(DemoRequests.Referral(HubFixture.NewSubject()))!.AsObject();
        body.Remove("actingUser");

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, Json(body.ToJsonString()), Ct);

        var text = await ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
        text.ShouldContain("actingUser");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A problem+json of bounded size that names no exception, no stack frame and no internal type.</summary>
    internal static async Task<string> ShouldBeBoundedProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        response.StatusCode.ShouldBe(status, text.Length > 2000 ? text[..2000] : text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        text.Length.ShouldBeLessThan(16_000);
        text.ShouldNotContain("Exception");
        text.ShouldNotContain("   at ");
        text.ShouldNotContain("FamiljecentralHub.");
        text.ShouldNotContain("System.");
        return text;
    }

    internal static void ShouldNotEcho(string text, HttpResponseMessage response, string planted)
    {
        text.ShouldNotContain(planted, Case.Insensitive);
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            string.Join(' ', header.Value).ShouldNotContain(planted, Case.Insensitive, $"header {header.Key}");
        }
    }

    /// <summary>The gate has recorded nothing about the subject and the error queues hold nothing of it.</summary>
    private async Task ShouldPublishNothingAboutAsync(string subject)
    {
        var pseudonym = new Pseudonymizer(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey })).For(subject);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        await using var consent = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        (await consent.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE subject_pseudonym = @pseudonym", new { pseudonym }))
            .ShouldBe(0, "the gate decided a message that was refused at the edge");
        await using var childHealth = new NpgsqlConnection(hub.Hub.ConnectionString("child-health"));
        (await childHealth.ExecuteScalarAsync<long>("SELECT count(*) FROM sent_messages WHERE subject_pseudonym = @pseudonym", new { pseudonym }))
            .ShouldBe(0, "the sender recorded a message that was refused at the edge");
        (await GateErrorQueuePeek.AllAsync(hub.Hub, Ct)).Where(m => Encoding.UTF8.GetString(m.Body).Contains(subject, StringComparison.Ordinal))
            .ShouldBeEmpty();
    }
}
