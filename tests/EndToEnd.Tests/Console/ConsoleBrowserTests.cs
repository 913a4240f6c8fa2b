using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests.Console;

/// <summary>
/// The operations console in a real browser (Chromium through Playwright), with each operator's client certificate:
/// one test per page and per scope, and a redrive made by clicking. Every test writes a screenshot of what it saw.
/// </summary>
public sealed partial class ConsoleBrowserTests(HubFixture hub, ConsoleBrowserFixture browser) : IClassFixture<ConsoleBrowserFixture>
{
    private const string Console = "/ops/console";
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Intake = "malmo-mottagning";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Overview_ShowsTheLiveFigures_AndRefreshesThemInPlace()
    {
        var page = await OpenAsync("ops-console");
        var referral = await SendReferralAsync();
        await page.GotoAsync(Console);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Overview");
        await Assertions.Expect(page.Locator("[data-scope]")).ToHaveAttributeAsync("data-scope", "hub");
        var asOf = await page.Locator("#live [data-as-of]").InnerTextAsync();
        // htmx swaps the live section every ten seconds, without a page load.
        await Assertions.Expect(page.Locator("#live [data-as-of]")).Not.ToHaveTextAsync(asOf, new() { Timeout = 25_000 });
        await Assertions.Expect(page.Locator("[data-metric=p95]")).Not.ToHaveTextAsync("–", new() { Timeout = 25_000 });
        await ScreenshotAsync(page, "overview");
        await AcknowledgeAsync(referral);
    }

    [Fact]
    public async Task Flows_ShowTheSuppressedTable_AndTheReferralChart()
    {
        var referral = await SendReferralAsync();
        var page = await OpenAsync("ops-console");
        await page.GotoAsync($"{Console}/flows");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Flows");
        await Assertions.Expect(page.Locator("table").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("svg[role=img]").First).ToBeVisibleAsync();
        (await page.ContentAsync()).ShouldContain("ChildHealth");
        await ScreenshotAsync(page, "flows");
        await AcknowledgeAsync(referral);
    }

    [Fact]
    public async Task Search_ByIdentityNumber_ShowsThePseudonymOnly_AndLeadsToTheTrail()
    {
        var (referral, subject) = await SendReferralWithSubjectAsync();
        await AcknowledgeAsync(referral);
        var page = await OpenAsync("ops-region-skane");
        await page.GotoAsync($"{Console}/search");
        await page.FillAsync("input[name=subject]", subject);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(new Regex("subject=p-[0-9a-f]{24}"));
        page.Url.ShouldNotContain(subject);
        await Assertions.Expect(page.Locator($"a[href$='/messages/{referral}']")).ToBeVisibleAsync(new() { Timeout = 20_000 });
        (await page.ContentAsync()).ShouldNotContain(subject);
        (await page.InputValueAsync("input[name=subject]")).ShouldMatch("^p-[0-9a-f]{24}$");
        await ScreenshotAsync(page, "search");

        await page.ClickAsync($"a[href$='/messages/{referral}']");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Message trail");
        foreach (var step in new[] { "Submitted", "Permitted", "Delivered", "Acknowledged" })
        {
            await Assertions.Expect(page.Locator("td", new() { HasTextString = step }).First).ToBeVisibleAsync(new() { Timeout = 20_000 });
        }

        await ScreenshotAsync(page, "trail");
    }

    [Fact]
    public async Task Scope_ARegionsOperatorDoesNotFindTheMunicipalitysMessage_TheMunicipalitysDoes()
    {
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();
        var report = await SendAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern",
            new { receivingUnit = Intake, subjectId = subject, concern = "Barnet kommer ofta hungrigt.", actingUser = "SE2321000016-FSK1" });
        await AcknowledgeAsync(report);

        var municipal = await OpenAsync("ops-malmo-stad");
        await municipal.GotoAsync($"{Console}/search?messageId={report}");
        await Eventually.MatchAsync(async () => { await municipal.ReloadAsync(); return await municipal.Locator($"a[href$='/messages/{report}']").CountAsync(); },
            n => n == 1, TimeSpan.FromSeconds(20), _ => "the municipality's operator does not find its own message", cancellationToken: Ct);
        await ScreenshotAsync(municipal, "scope-municipality");

        var region = await OpenAsync("ops-region-skane");
        await region.GotoAsync($"{Console}/search?messageId={report}");
        await Assertions.Expect(region.Locator("p.note", new() { HasTextString = "No message matches." })).ToBeVisibleAsync();
        var trail = await region.GotoAsync($"{Console}/messages/{report}");
        trail!.Status.ShouldBe(404);
        await ScreenshotAsync(region, "scope-region");
    }

    [Fact]
    public async Task DeadLetters_ARedriveByClicking_IsMadeAndTheMessageDelivered()
    {
        var subject = HubFixture.NewSubject();
        var pseudonym = new Pseudonymizer(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey })).For(subject);
        var constraint = $"poison_{Guid.NewGuid():N}"[..24];
        await AlterLedgerAsync($"ALTER TABLE ledger ADD CONSTRAINT {constraint} CHECK (subject_pseudonym <> '{pseudonym}') NOT VALID");
        try
        {
            using var preschool = hub.Client("forskola-system");
            var report = await SendAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern",
                new { receivingUnit = Intake, subjectId = subject, concern = "Barnet har blåmärken.", actingUser = "SE2321000016-FSK1" }, waitFor: null);
            using var ops = hub.Client("ops-console");
            await Eventually.MatchAsync(() => ops.GetStringAsync("/consent/errors", Ct), l => l.Contains(report.ToString(), StringComparison.Ordinal),
                TimeSpan.FromSeconds(90), _ => "the report never reached the gate's error queue", TimeSpan.FromSeconds(2), Ct);
            await AlterLedgerAsync($"ALTER TABLE ledger DROP CONSTRAINT IF EXISTS {constraint}");

            var page = await OpenAsync("ops-console");
            await page.GotoAsync($"{Console}/dead-letters");
            var consent = page.Locator("section[data-service=consent]");
            var box = consent.Locator($"input[type=checkbox][value='{report}']");
            await Assertions.Expect(box).ToBeVisibleAsync(new() { Timeout = 20_000 });
            (await consent.InnerTextAsync()).ShouldContain(pseudonym);
            await ScreenshotAsync(page, "dead-letters");
            await box.CheckAsync();
            await consent.Locator("select[name=reason]").SelectOptionAsync("cause-fixed");
            await consent.Locator("button", new() { HasTextString = "Redrive chosen" }).ClickAsync();
            await Assertions.Expect(consent.Locator("[data-redriven]")).ToHaveAttributeAsync("data-redriven", "1", new() { Timeout = 20_000 });
            await ScreenshotAsync(page, "dead-letters-redriven");

            using var social = hub.Client(DemoRequests.SocialServicesClient);
            await Eventually.MatchAsync(() => social.GetAsync($"/social-services/units/{Intake}/inbox/{report}", Ct), r => r.StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(30), r => $"the redriven report was not delivered ({r?.StatusCode})", cancellationToken: Ct);
            await AcknowledgeAsync(report);
        }
        finally
        {
            await AlterLedgerAsync($"ALTER TABLE ledger DROP CONSTRAINT IF EXISTS {constraint}");
        }
    }

    [Fact]
    public async Task EveryPage_AfterAScenario_HoldsNoIdentityNumberNameOrFreeText()
    {
        var (referral, subject) = await SendReferralWithSubjectAsync();
        using var preschool = hub.Client("forskola-system");
        var report = await SendAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern",
            new { receivingUnit = Intake, subjectId = subject, concern = "Pappan skriker på barnet vid hämtning.", actingUser = "SE2321000016-FSK1" });
        await AcknowledgeAsync(referral);
        await AcknowledgeAsync(report);

        var page = await OpenAsync("ops-console");
        var seen = new List<string>();
        foreach (var path in new[] { Console, $"{Console}/flows", $"{Console}/search", $"{Console}/search?unit={Intake}", $"{Console}/messages/{referral}", $"{Console}/messages/{report}", $"{Console}/dead-letters", $"{Console}/alerts" })
        {
            await page.GotoAsync(path);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            seen.Add(await page.ContentAsync());
        }

        foreach (var content in seen)
        {
            content.ShouldNotContain(subject);
            IdentityNumber().IsMatch(content).ShouldBeFalse("no identity number on any page");
            foreach (var words in new[] { "Vårdnadshavare", "Föräldrarna önskar", "Pappan skriker", "BVC-journal", "Föräldrastöd efter samtal" })
            {
                content.ShouldNotContain(words);
            }
        }
    }

    private async Task<IPage> OpenAsync(string operatorClient)
    {
        if (!browser.Available)
        {
            // On CI the browser is installed by the scripts: a missing one is a broken install, not a reason to skip.
            Environment.GetEnvironmentVariable("CI").ShouldNotBe("true", $"{ConsoleBrowserFixture.Chromium} is missing");
            Assert.Skip($"{ConsoleBrowserFixture.Chromium} is not installed (apt-get install chromium)");
        }

        var context = await browser.OperatorAsync(hub, operatorClient);
        return await context.NewPageAsync();
    }

    private static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleBrowserFixture.ScreenshotFolder, $"{name}.png"), FullPage = true });

    private async Task<Guid> SendReferralAsync() => (await SendReferralWithSubjectAsync()).MessageId;

    private async Task<(Guid MessageId, string Subject)> SendReferralWithSubjectAsync()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject)), subject);
    }

    private static async Task<Guid> SendAsync(HttpClient client, string path, object body, string? waitFor = "Delivered")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", $"browser-{Guid.NewGuid():N}");
        var response = await client.SendAsync(request, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var sent = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        if (waitFor is not null)
        {
            await HubFixture.WaitForStatusAsync(client, sent.GetProperty("statusUrl").GetString()!, waitFor);
        }

        return sent.GetProperty("messageId").GetGuid();
    }

    /// <summary>The receiving system takes each message in, as it would: an inbox left full slows other tests' fetchers.</summary>
    private async Task AcknowledgeAsync(Guid messageId)
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        foreach (var unit in new[] { DemoRequests.SocialServicesUnit, Intake })
        {
            var path = $"/social-services/units/{unit}/inbox/{messageId}";
            if ((await social.GetAsync(path, Ct)).StatusCode == HttpStatusCode.OK)
            {
                (await social.PostAsync($"{path}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            }
        }
    }

    private async Task AlterLedgerAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(hub.Hub.AdminConnectionString("consent"));
        await admin.ExecuteAsync(sql);
    }

    /// <summary>A personal identity number's shape, not inside a GUID (whose hex groups may happen to be digits).</summary>
    [GeneratedRegex(@"(?<![0-9a-fA-F-])(19|20)[0-9]{6}-?[0-9]{4}(?![0-9a-fA-F-])")]
    private static partial Regex IdentityNumber();
}
