using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Every 401/403, at the gateway or at a service, leaves a metadata-only record that operations can list: the client
/// system, the route pattern, the unit claimed (when registered), the reason and the time; never the raw path, the
/// query or anything of the body, where a subject's identity number may be.
/// </summary>
public sealed class AccessRefusalTests(HubFixture hub)
{
    private const string OpsClient = "ops-console";
    private const string OtherBvc = "solglantan-bvc"; // hosted by child-health, but not bvc-ehr's

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ServiceRefusal_UnitNotTheClients_403AndListedForOps()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        var refused = await bvc.GetAsync($"/child-health/units/{OtherBvc}/inbox?subject={subject}", Ct);

        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        refused.Headers.Any(h => h.Key.StartsWith("X-Hub-", StringComparison.OrdinalIgnoreCase)).ShouldBeFalse();
        var record = await WaitForRefusalAsync(DemoRequests.ChildHealthClient, since, "/child-health/units/{unitId}/inbox", subject);
        record.GetProperty("reason").GetString().ShouldBe("unit-not-acted-for");
        record.GetProperty("unit").GetString().ShouldBe(OtherBvc);
        record.GetProperty("status").GetInt32().ShouldBe(403);
    }

    [Fact]
    public async Task GatewayRefusal_RouteNotAllowed_403AndListedForOps()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        var refused = await bvc.GetAsync($"{DemoRequests.InboxPath}?subject={subject}", Ct);

        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var record = await WaitForRefusalAsync(DemoRequests.ChildHealthClient, since, "/social-services/**", subject);
        record.GetProperty("reason").GetString().ShouldBe("route-not-allowed");
        record.GetProperty("unit").GetString().ShouldBe(DemoRequests.SocialServicesUnit);
    }

    [Fact]
    public async Task ConsentRefusal_RecordingUnitNotTheClients_403AndListedForOps()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow))!.AsObject();
        // A valid consent, recorded in the name of a sending unit the client does not act for.
        consent["sendingUnits"] = new JsonArray(DemoRequests.ChildHealthUnit, "rosengard-mvc");
        consent["recordingUnit"] = "rosengard-mvc";
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        var refused = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct);

        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var record = await WaitForRefusalAsync(DemoRequests.ChildHealthClient, since, "/consent/consents/", subject);
        record.GetProperty("reason").GetString().ShouldBe("unit-not-acted-for");
        record.GetProperty("unit").GetString().ShouldBe("rosengard-mvc");
    }

    [Fact]
    public async Task Listing_ClientWithoutOpsRoute_Refused()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        (await bvc.GetAsync("/ops/access-refusals", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        // Nor may a client hand Ops records of its own: only the gateway's own token is taken.
        using var ops = hub.Client(OpsClient);
        (await ops.PostAsJsonAsync("/ops/access-refusals", new { refusals = new[] { new { client = "x", route = "/x", reason = "x", status = 403, count = 1, firstAt = DateTimeOffset.UtcNow, lastAt = DateTimeOffset.UtcNow } } }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    /// <summary>Pages through the ops listing for the client since the given time until the route's record is there.</summary>
    private async Task<JsonElement> WaitForRefusalAsync(string client, DateTimeOffset since, string route, string subject)
    {
        using var ops = hub.Client(OpsClient);
        var (_, found) = await Eventually.MatchAsync(
            async () =>
            {
                var page = await ops.GetStringAsync($"/ops/access-refusals?client={client}&from={Uri.EscapeDataString(since.ToString("O"))}&limit=500", Ct);
                // Metadata only: nothing of the refused request's path, query or body.
                page.ShouldNotContain(subject);
                page.ShouldNotContain(subject.Replace("-", "", StringComparison.Ordinal));
                var items = JsonDocument.Parse(page).RootElement.GetProperty("items").EnumerateArray().ToList();
                var listed = items.FirstOrDefault(item => item.GetProperty("route").GetString() == route);
                return (Page: page, Found: listed.ValueKind == JsonValueKind.Undefined ? listed : listed.Clone());
            },
            last => last.Found.ValueKind != JsonValueKind.Undefined,
            TimeSpan.FromSeconds(20),
            last => $"No refusal on {route} for {client} listed; the listing had: {last.Page}",
            TimeSpan.FromMilliseconds(250), Ct);

        found.GetProperty("client").GetString().ShouldBe(client);
        found.GetProperty("count").GetInt32().ShouldBeGreaterThanOrEqualTo(1);
        return found;
    }
}
