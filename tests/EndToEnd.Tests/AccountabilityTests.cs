using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Issue 14 items 1–3 through the gateway, with the demo's staff client <c>region-loggranskning</c> (Region Skåne's
/// units, the three duties): the family's log extract, the review queue and the log follow-up (docs/accountability.md).
/// </summary>
public sealed class AccountabilityTests(HubFixture hub)
{
    private const string Staff = "region-loggranskning";
    private const string StaffUser = "SE2321000016-LOGG1";
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Intake = "malmo-mottagning";
    private const string ExtractPath = "/consent/accountability/log-extracts";
    private const string FollowUpPath = "/consent/accountability/follow-ups";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Extract_ShowsTheSubjectsDisclosuresOfTheCallersPrincipalOnly_WithholdsAReportOfConcern_AndIsInTheLedger()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var preschool = hub.Client("forskola-system");
        using var staff = hub.Client(Staff);
        var (subject, other) = (HubFixture.NewSubject(), HubFixture.NewSubject());
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(other, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var referral = await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), "Delivered");
        await AcknowledgeAsync(social, referral);
        var report = await SendAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/reports-of-concern", Report(subject), "Delivered");
        var othersReferral = await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(other), "Delivered");
        // Another principal's disclosure about the same child: the municipality's preschool reports to the intake.
        var municipal = await SendAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern", Report(subject), null);
        await Eventually.MatchAsync(() => LedgerCountAsync("SELECT count(*) FROM ledger WHERE message_id = @id AND kind = 'acknowledgement'", new { id = referral }),
            n => n == 1, TimeSpan.FromSeconds(20), _ => "the acknowledgement never reached the ledger", cancellationToken: Ct);

        var response = await staff.PostAsJsonAsync(ExtractPath, ExtractRequest(subject), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var text = await response.Content.ReadAsStringAsync(Ct);
        var extract = JsonDocument.Parse(text).RootElement;
        var entries = extract.GetProperty("entries").EnumerateArray().ToList();
        entries.Select(e => e.GetProperty("messageId").GetGuid()).ShouldBe([referral]);
        var entry = entries[0];
        entry.GetProperty("from").GetProperty("name").GetString().ShouldBe("BVC Rosengård");
        entry.GetProperty("to").GetProperty("id").GetString().ShouldBe(DemoRequests.SocialServicesUnit);
        entry.GetProperty("basis").GetString().ShouldBe("consent");
        entry.GetProperty("consentVersion").GetInt32().ShouldBe(1);
        entry.GetProperty("fetched").GetBoolean().ShouldBeTrue();
        entry.GetProperty("acknowledgedAt").ValueKind.ShouldBe(JsonValueKind.String);
        entry.TryGetProperty("actingUser", out _).ShouldBeFalse("the acting user is not part of an extract");
        var withheld = extract.GetProperty("withheld").EnumerateArray().ToList();
        withheld.Select(w => w.GetProperty("messageId").GetGuid()).ShouldBe([report]);
        withheld[0].GetProperty("rule").GetString().ShouldBe("reporter");
        withheld[0].GetProperty("citation").GetString()!.ShouldContain("OSL");
        text.ShouldNotContain(othersReferral.ToString());
        text.ShouldNotContain(municipal.ToString(), customMessage: "another principal's disclosure is not the region's to show");
        text.ShouldNotContain(subject, customMessage: "the JSON does not repeat the number");

        var requestId = extract.GetProperty("requestId").GetGuid();
        (await LedgerCountAsync("SELECT count(*) FROM ledger WHERE message_id = @requestId AND kind = 'extract-disclosed'", new { requestId })).ShouldBe(1);
        var verified = await hub.Hub.Services["consent"].RunCommandAsync(["verify-ledger"], TimeSpan.FromMinutes(2), Ct);
        verified.ExitCode.ShouldBe(0, "the extract's entry keeps the chain intact: " + verified.Output);
    }

    [Fact]
    public async Task Extract_AsHtml_IsASwedishDocumentWithoutScript()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var staff = hub.Client(Staff);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), "Delivered");

        using var request = new HttpRequestMessage(HttpMethod.Post, ExtractPath) { Content = JsonContent.Create(ExtractRequest(subject)) };
        request.Headers.Accept.ParseAdd("text/html");
        var response = await staff.SendAsync(request, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        response.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("default-src 'none'");
        var html = await response.Content.ReadAsStringAsync(Ct);
        html.ShouldContain("<html lang=\"sv\">");
        html.ShouldContain("Loggutdrag");
        html.ShouldContain("Hänvisning");
        html.ShouldContain("BVC Rosengård");
        html.ShouldContain("Förebyggande socialtjänst Rosengård");
        html.ShouldNotContain("<script", Case.Insensitive);
    }

    [Fact]
    public async Task Extract_ClientWithoutTheDuty_Is403_AndAGuardiansAskForATeenagerWithoutAssessment_Is422()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var staff = hub.Client(Staff);
        var subject = HubFixture.NewSubject();

        var refused = await bvc.PostAsJsonAsync(ExtractPath, ExtractRequest(subject), Ct);
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await refused.Content.ReadAsStringAsync(Ct)).ShouldNotContain(subject);

        const string teenager = "201001012382"; // 16 on the day these tests were written, never younger than 13
        var proxy = await staff.PostAsJsonAsync(ExtractPath, ExtractRequest(teenager), Ct);
        proxy.StatusCode.ShouldBe((HttpStatusCode)422, await proxy.Content.ReadAsStringAsync(Ct));
        (await proxy.Content.ReadAsStringAsync(Ct)).ShouldNotContain("20100101");
        var protectedChild = await staff.PostAsJsonAsync(ExtractPath, ExtractRequest(subject) with { protectedIdentity = true }, Ct);
        protectedChild.StatusCode.ShouldBe((HttpStatusCode)422);

        var bad = await staff.PostAsJsonAsync(ExtractPath, ExtractRequest("202403152389"), Ct);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await bad.Content.ReadAsStringAsync(Ct);
        problem.ShouldContain("subjectId");
        problem.ShouldNotContain("202403152389");
    }

    [Fact]
    public async Task Review_AppearsInTheSendingUnitsQueueOnly_ReviewedOnce_AndAnotherPrincipalsIsNotFound()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        using var staff = hub.Client(Staff);
        using var ops = hub.Client("ops-console");
        var subject = HubFixture.NewSubject();
        var report = await SendAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/reports-of-concern", Report(subject), "Delivered");
        var municipal = await SendAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern", Report(subject), null);
        await Eventually.MatchAsync(() => LedgerCountAsync("SELECT count(*) FROM ledger WHERE message_id = @municipal AND kind = 'decision'", new { municipal }),
            n => n == 1, TimeSpan.FromSeconds(20), _ => "the preschool's report was never decided", cancellationToken: Ct);

        (await OpenReviewsAsync(staff, DemoRequests.ChildHealthUnit)).ShouldContain(report);
        (await OpenReviewsAsync(staff, "rosengard-mvc")).ShouldNotContain(report, "queued at the sending unit only");
        (await staff.GetAsync($"/consent/accountability/units/{Intake}/reviews", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await bvc.GetAsync($"/consent/accountability/units/{DemoRequests.ChildHealthUnit}/reviews", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden, "no duty");
        var counts = await ops.GetFromJsonAsync<JsonElement>("/consent/accountability/reviews/overdue", Ct);
        counts.EnumerateArray().Single(c => c.GetProperty("unit").GetString() == DemoRequests.ChildHealthUnit).GetProperty("open").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        // A unit's system without the duty learns nothing of any unit's reports; a principal's operators only of their units.
        (await bvc.GetAsync("/consent/accountability/reviews/overdue", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var municipalOps = hub.Client("ops-malmo-stad");
        var municipalCounts = await municipalOps.GetFromJsonAsync<JsonElement>("/consent/accountability/reviews/overdue", Ct);
        municipalCounts.EnumerateArray().Select(c => c.GetProperty("unit").GetString()).ShouldNotContain(DemoRequests.ChildHealthUnit);

        var note = "Anmälan gjord enligt rutin; samråd med chef.";
        var reviewed = await staff.PostAsJsonAsync($"/consent/accountability/reviews/{report}", new { note, reviewedBy = StaffUser }, Ct);

        reviewed.StatusCode.ShouldBe(HttpStatusCode.OK, await reviewed.Content.ReadAsStringAsync(Ct));
        (await OpenReviewsAsync(staff, DemoRequests.ChildHealthUnit)).ShouldNotContain(report);
        (await LedgerCountAsync("SELECT count(*) FROM ledger WHERE message_id = @report AND kind = 'reviewed'", new { report })).ShouldBe(1);
        (await LedgerCountAsync("SELECT count(*) FROM ledger WHERE message_id = @report AND array_to_string(reasons, ' ') LIKE '%rutin%'", new { report }))
            .ShouldBe(0, "the note is never in the ledger");
        (await staff.PostAsJsonAsync($"/consent/accountability/reviews/{report}", new { note = "igen", reviewedBy = StaffUser }, Ct)).StatusCode
            .ShouldBe(HttpStatusCode.Conflict);
        var foreign = await staff.PostAsJsonAsync($"/consent/accountability/reviews/{municipal}", new { note = "x", reviewedBy = StaffUser }, Ct);
        var unknown = await staff.PostAsJsonAsync($"/consent/accountability/reviews/{Guid.NewGuid()}", new { note = "x", reviewedBy = StaffUser }, Ct);
        foreign.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var (foreignProblem, unknownProblem) = (await foreign.Content.ReadFromJsonAsync<JsonElement>(Ct), await unknown.Content.ReadFromJsonAsync<JsonElement>(Ct));
        foreignProblem.GetProperty("title").GetString().ShouldBe(unknownProblem.GetProperty("title").GetString());
        foreignProblem.GetProperty("detail").GetString().ShouldBe(unknownProblem.GetProperty("detail").GetString(), "another principal's review and none at all look alike");
        (await LedgerCountAsync("SELECT count(*) FROM ledger WHERE message_id = @municipal AND kind = 'reviewed'", new { municipal })).ShouldBe(0);
        var overLong = await staff.PostAsJsonAsync($"/consent/accountability/reviews/{report}", new { note = new string('n', 2001), reviewedBy = StaffUser }, Ct);
        overLong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task FollowUp_CountsWhatWasSent_AndTheSameSeedDrawsTheSameSample()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var staff = hub.Client(Staff);
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        var (subject, unconsented) = (HubFixture.NewSubject(), HubFixture.NewSubject());
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), "Delivered");
        await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), "Delivered");
        await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(unconsented), "Refused");
        await SendAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/reports-of-concern", Report(subject), "Delivered");
        var to = DateTimeOffset.UtcNow.AddSeconds(1);
        await Task.Delay(TimeSpan.FromSeconds(3), Ct); // the window closed: no later decision falls into it
        object Request(long seed) => new { unit = DemoRequests.ChildHealthUnit, from, to, sampleSize = 3, seed, requestedBy = StaffUser };

        var first = await FollowUpAsync(staff, Request(11));
        var again = await FollowUpAsync(staff, Request(11));
        // Another seed may draw the same sample by chance (1 in C(n,3), n the entries in the window, a few percent here);
        // four other seeds all drawing it would be a seed that is not used.
        List<List<long>> others = [];
        foreach (var seed in new long[] { 12, 13, 14, 15 })
        {
            others.Add(Seqs(await FollowUpAsync(staff, Request(seed))));
        }

        // Other test classes send from the same unit at the same time: what was sent here is a floor, and the ledger's own
        // count over the same window (closed before the follow-up was asked) is the exact figure.
        var byBasis = first.GetProperty("permittedByBasis");
        var window = new { unit = DemoRequests.ChildHealthUnit, from, to };
        byBasis.GetProperty("consent").GetInt32().ShouldBeGreaterThanOrEqualTo(2);
        byBasis.GetProperty("consent").GetInt32().ShouldBe((int)await LedgerCountAsync(
            "SELECT count(*) FROM ledger WHERE kind = 'decision' AND outcome = 'permitted' AND basis = 'consent' AND sending_unit = @unit AND at >= @from AND at < @to", window));
        byBasis.GetProperty("report-of-concern").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        byBasis.GetProperty("report-of-concern").GetInt32().ShouldBe((int)await LedgerCountAsync(
            "SELECT count(*) FROM ledger WHERE kind = 'decision' AND outcome = 'permitted' AND basis = 'report-of-concern' AND sending_unit = @unit AND at >= @from AND at < @to", window));
        first.GetProperty("refused").GetInt32().ShouldBe((int)await LedgerCountAsync(
            "SELECT count(*) FROM ledger WHERE kind = 'decision' AND outcome = 'refused' AND sending_unit = @unit AND at >= @from AND at < @to", window));
        first.GetProperty("refused").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        first.GetProperty("flagged").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        first.GetProperty("seed").GetInt64().ShouldBe(11);
        Seqs(first).Count.ShouldBe(3);
        Seqs(again).ShouldBe(Seqs(first));
        others.ShouldContain(sample => !sample.SequenceEqual(Seqs(first)), "other seeds draw other samples");
        var drawn = await LedgerCountAsync("SELECT count(*) FROM ledger WHERE kind = 'sample-drawn' AND message_id = @id",
            new { id = first.GetProperty("requestId").GetGuid() });
        drawn.ShouldBe(1);

        var generated = await FollowUpAsync(staff, new { unit = DemoRequests.ChildHealthUnit, from, to, requestedBy = StaffUser });
        generated.GetProperty("seed").GetInt64().ShouldBeGreaterThanOrEqualTo(0);
        (await bvc.PostAsJsonAsync(FollowUpPath, Request(1), Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await staff.PostAsJsonAsync(FollowUpPath, new { unit = Intake, from, to, requestedBy = StaffUser }, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var backwards = await staff.PostAsJsonAsync(FollowUpPath, new { unit = DemoRequests.ChildHealthUnit, from = to, to = from, requestedBy = StaffUser }, Ct);
        backwards.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await backwards.Content.ReadAsStringAsync(Ct)).ShouldContain("to");
    }

    private static List<long> Seqs(JsonElement report) => [.. report.GetProperty("sample").EnumerateArray().Select(s => s.GetProperty("seq").GetInt64())];

    private static async Task<JsonElement> FollowUpAsync(HttpClient staff, object request)
    {
        var response = await staff.PostAsJsonAsync(FollowUpPath, request, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    private static async Task<List<Guid>> OpenReviewsAsync(HttpClient staff, string unit)
    {
        var page = await staff.GetFromJsonAsync<JsonElement>($"/consent/accountability/units/{unit}/reviews?limit=500", Ct);
        return [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("messageId").GetGuid())];
    }

    private static ExtractBody ExtractRequest(string subject) => new(subject, "Guardian", false, StaffUser);

    private sealed record ExtractBody(string subjectId, string requester, bool protectedIdentity, string requestedBy);

    private static object Report(string subject) => new
    {
        receivingUnit = Intake,
        subjectId = subject,
        concern = "Blåmärken på armarna vid två besök.",
        actingUser = "SE2321000016-BVC1",
    };

    /// <summary>Sends and, unless <paramref name="status"/> is null, waits for the status; returns the message id.</summary>
    private static async Task<Guid> SendAsync(HttpClient client, string path, object body, string? status)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", $"acc-{Guid.NewGuid():N}");
        var response = await client.SendAsync(request, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var sent = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        if (status is not null)
        {
            await HubFixture.WaitForStatusAsync(client, sent.GetProperty("statusUrl").GetString()!, status);
        }

        return sent.GetProperty("messageId").GetGuid();
    }

    private static async Task AcknowledgeAsync(HttpClient social, Guid messageId)
    {
        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    private async Task<long> LedgerCountAsync(string sql, object parameters)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }
}
