using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The operations console through the gateway, as each operator's certificate sees it: a principal's operators find only
/// messages one of its units sends or receives, the hub's find all; a search by identity number leaves the number in no
/// URL and no page; a key finds its message; the trail names every step; a form from another site is refused.
/// </summary>
public sealed partial class ConsoleTests(HubFixture hub)
{
    private const string Console = "/ops/console";
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Intake = "malmo-mottagning";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Search_IsScopedToTheOperatorsPrincipal_AndTheHubSeesAll()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();
        // The region's unit reports to the municipality's intake; the municipality's preschool reports to the same intake.
        var regional = await SendAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/reports-of-concern", Report(subject), "Delivered");
        var municipal = await SendAsync(preschool, $"/open-preschool/units/{Preschool}/reports-of-concern", Report(subject), "Delivered");

        foreach (var (client, seesRegional, seesMunicipal) in new[] { ("ops-console", true, true), ("ops-region-skane", true, false), ("ops-malmo-stad", true, true) })
        {
            using var ops = hub.Client(client);
            await Eventually.MatchAsync(() => ops.GetStringAsync($"{Console}/search?messageId={regional}", Ct), page => page.Contains($"/messages/{regional}", StringComparison.Ordinal) == seesRegional,
                TimeSpan.FromSeconds(20), _ => $"{client}: the regional report", cancellationToken: Ct);
            await Eventually.MatchAsync(() => ops.GetStringAsync($"{Console}/search?messageId={municipal}", Ct), page => page.Contains($"/messages/{municipal}", StringComparison.Ordinal) == seesMunicipal,
                TimeSpan.FromSeconds(20), _ => $"{client}: the municipal report", cancellationToken: Ct);
            var trail = await ops.GetAsync($"{Console}/messages/{municipal}", Ct);
            trail.StatusCode.ShouldBe(seesMunicipal ? HttpStatusCode.OK : HttpStatusCode.NotFound, client);
            var flows = await ops.GetFromJsonAsync<JsonElement>("/ops/flows", Ct);
            flows.ValueKind.ShouldBe(JsonValueKind.Array);
        }

        using var region = hub.Client("ops-region-skane");
        // A principal's operator is not shown the hub's refusal records, which name every principal's clients.
        (await region.GetAsync("/ops/access-refusals", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await hub.Client("ops-console").GetAsync("/ops/access-refusals", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await AcknowledgeAsync(regional);
        await AcknowledgeAsync(municipal);
    }

    /// <summary>
    /// A refusal never reveals to the receiver that a message existed (domain.md section 5): the receiving principal's
    /// operators do not find a message refused on its way to one of their units, nor its trail; the sender's do.
    /// </summary>
    [Fact]
    public async Task Refused_IsNotShownToTheReceivingPrincipalsOperators()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var refused = await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(HubFixture.NewSubject()), "Refused");

        using var sender = hub.Client("ops-region-skane");
        await Eventually.TrueAsync(async () => (await sender.GetStringAsync($"{Console}/search?messageId={refused}", Ct)).Contains($"/messages/{refused}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "the sender's principal does not find its refused referral", cancellationToken: Ct);
        using var receiver = hub.Client("ops-malmo-stad");
        (await receiver.GetStringAsync($"{Console}/search?messageId={refused}", Ct)).ShouldNotContain($"/messages/{refused}");
        (await receiver.GetAsync($"{Console}/messages/{refused}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await receiver.GetStringAsync($"/ops/messages/{refused}", Ct)).ShouldNotContain(refused.ToString());
        (await receiver.GetStringAsync($"{Console}/", Ct)).ShouldNotContain("no consent covers Referral from unit rosengard-bvc");
    }

    [Fact]
    public async Task SearchByIdentityNumber_BecomesThePseudonym_AndTheNumberIsInNoUrlOrPage()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var referral = await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), "Delivered");

        using var ops = NoRedirects("ops-region-skane");
        var posted = await PostFormAsync(ops, ("subject", subject));
        posted.StatusCode.ShouldBe(HttpStatusCode.SeeOther, await posted.Content.ReadAsStringAsync(Ct));
        var location = posted.Headers.Location!.OriginalString;
        location.ShouldNotContain(subject);
        location.ShouldNotContain(subject[2..]);
        var pseudonym = PseudonymIn().Match(location).Value;
        pseudonym.ShouldNotBeEmpty(location);

        var page = await Eventually.MatchAsync(() => ops.GetStringAsync(location, Ct), p => p.Contains(referral.ToString(), StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), _ => "the referral was not found by its subject", cancellationToken: Ct);
        page.ShouldNotContain(subject);
        page.ShouldContain(pseudonym);

        // An operator without the duty may search by pseudonym, not by number.
        using var municipal = NoRedirects("ops-malmo-stad");
        var refused = await PostFormAsync(municipal, ("subject", subject));
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await refused.Content.ReadAsStringAsync(Ct)).ShouldNotContain(subject);
        var bad = await PostFormAsync(municipal, ("subject", "Anna Andersson 19"));
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.Content.ReadAsStringAsync(Ct)).ShouldNotContain("Anna");
        await AcknowledgeAsync(referral);
    }

    [Fact]
    public async Task SearchByIdempotencyKey_FindsTheMessage_AndTheTrailNamesEveryStep()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var key = $"console-{Guid.NewGuid():N}";
        var referral = await SendAsync(bvc, DemoRequests.ReferralPath, DemoRequests.Referral(subject), "Delivered", key);
        await AcknowledgeAsync(referral);

        using var ops = NoRedirects("ops-console");
        var posted = await PostFormAsync(ops, ("idempotencyKey", key), ("sendingUnit", DemoRequests.ChildHealthUnit));
        posted.StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        posted.Headers.Location!.OriginalString.ShouldNotContain(key);
        posted.Headers.Location!.OriginalString.ShouldContain($"messageId={referral}");
        var found = await ops.GetStringAsync(posted.Headers.Location!.OriginalString, Ct);
        found.ShouldContain($"/messages/{referral}");
        found.ShouldNotContain(key);

        // Each step comes on its own event, from its own service, in any order.
        string[] steps = ["Submitted", "Permitted", "Delivered", "Acknowledged"];
        var trail = await Eventually.MatchAsync(() => ops.GetStringAsync($"{Console}/messages/{referral}", Ct), t => steps.All(step => t.Contains($"<td>{step}</td>", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), t => "the trail lacks a step: " + t, cancellationToken: Ct);

        trail.ShouldContain("<td>consent</td>", customMessage: "the gate said Permitted");
        trail.ShouldContain("<td>social-services</td>", customMessage: "the receiving service said Delivered");
        trail.ShouldContain("<td>child-health</td>", customMessage: "the sending service took it in");
        trail.ShouldNotContain(subject);
    }

    [Fact]
    public async Task Console_RefusesAFormFromAnotherSite_AClientWithoutAScope_AndBadInputWithoutRepeatingIt()
    {
        using var ops = NoRedirects("ops-console");
        using var crossSite = new HttpRequestMessage(HttpMethod.Post, $"{Console}/search") { Content = new FormUrlEncodedContent([new("status", "Delivered")]) };
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        (await ops.SendAsync(crossSite, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var noOrigin = new HttpRequestMessage(HttpMethod.Post, $"{Console}/search") { Content = new FormUrlEncodedContent([new("status", "Delivered")]) };
        (await ops.SendAsync(noOrigin, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden, "neither Sec-Fetch-Site nor HX-Request");

        // The data controller's staff client reaches no ops route at all; its certificate is not an operator's.
        (await hub.Client("region-loggranskning").GetAsync($"{Console}/search", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        foreach (var query in new[] { "unit=199001011234", "status=Deliverd", "subject=199001011234", "messageId=x", "limit=100000", "after=1_2", "from=yesterday" })
        {
            var response = await ops.GetAsync($"{Console}/search?{query}", Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, query);
            var body = await response.Content.ReadAsStringAsync(Ct);
            body.ShouldNotContain(query.Split('=')[1]);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }

        var page = await ops.GetAsync($"{Console}/search", Ct);
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self'");
        page.Headers.GetValues("X-Frame-Options").Single().ShouldBe("DENY");
    }

    private HttpClient NoRedirects(string clientId) => hub.ClientWithoutRedirects(clientId);

    /// <summary>The search form as a browser posts it from the console's own page.</summary>
    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, params (string Name, string Value)[] fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Console}/search") { Content = new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))) };
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        return await client.SendAsync(request, Ct);
    }

    private static object Report(string subject) => new
    {
        receivingUnit = Intake,
        subjectId = subject,
        concern = "Blåmärken på armarna vid två besök.",
        actingUser = "SE2321000016-BVC1",
    };

    private static async Task<Guid> SendAsync(HttpClient client, string path, object body, string status, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key ?? $"console-{Guid.NewGuid():N}");
        var response = await client.SendAsync(request, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var sent = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        await HubFixture.WaitForStatusAsync(client, sent.GetProperty("statusUrl").GetString()!, status);
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

    [GeneratedRegex("p-[0-9a-f]{24}")]
    private static partial Regex PseudonymIn();
}
