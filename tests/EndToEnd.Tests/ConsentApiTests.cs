using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>The consent registry through the gateway: versions, history, who may read, clear errors.</summary>
public sealed class ConsentApiTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Change_WithTheCurrentVersion_AddsAVersionAndKeepsTheOldOne()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var consent = DemoRequests.Consent(subject, DateTimeOffset.UtcNow);
        var created = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var url = $"{DemoRequests.ConsentPath}/{created.GetProperty("id").GetGuid()}";
        var changed = JsonSerializer.SerializeToNode(consent)!.AsObject();
        changed["categories"] = new System.Text.Json.Nodes.JsonArray("ParentingSupport");
        changed["expectedVersion"] = 1;
        changed["changeReason"] = "Vårdnadshavaren begränsar samtycket till föräldrastöd";

        var first = await bvc.PutAsJsonAsync(url, changed, Ct);
        var stale = await bvc.PutAsJsonAsync(url, changed, Ct);
        var history = await bvc.GetFromJsonAsync<JsonElement>(url + "/history", Ct);

        first.StatusCode.ShouldBe(HttpStatusCode.OK);
        stale.StatusCode.ShouldBe(HttpStatusCode.Conflict, "a change based on an old version must not overwrite a newer one");
        history.GetArrayLength().ShouldBe(2);
        history[0].GetProperty("categories").GetArrayLength().ShouldBe(2, "history is never overwritten");
        history[1].GetProperty("categories").EnumerateArray().Select(c => c.GetString()).ShouldBe(["ParentingSupport"]);
    }

    /// <summary>
    /// A change that widens is the consent given again, today: it may last the maximum from today (or from its start, if
    /// earlier), not from a start moved years ahead, or a guardian's word of today would stand for years to come.
    /// </summary>
    [Fact]
    public async Task Change_ByTheDiscloser_MovingTheWindowYearsAhead_Is400()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var now = DateTimeOffset.UtcNow;
        var consent = DemoRequests.Consent(HubFixture.NewSubject(), now);
        var created = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var url = $"{DemoRequests.ConsentPath}/{created.GetProperty("id").GetGuid()}";
        var changed = JsonSerializer.SerializeToNode(consent)!.AsObject();
        changed["validFrom"] = now.AddYears(3);
        changed["validUntil"] = now.AddYears(3).AddDays(300);
        changed["expectedVersion"] = 1;
        changed["changeReason"] = "Flyttad framåt";

        var response = await bvc.PutAsJsonAsync(url, changed, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").TryGetProperty("validUntil", out _).ShouldBeTrue();
        (await bvc.GetFromJsonAsync<JsonElement>(url + "/history", Ct)).GetArrayLength().ShouldBe(1, "nothing was stored");

        // Within the maximum from today, the same change is taken.
        changed["validFrom"] = now.AddDays(30);
        changed["validUntil"] = now.AddDays(360);
        (await bvc.PutAsJsonAsync(url, changed, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    /// <summary>A Swedish system writes its local time, with its offset: the same instants as in UTC, stored as such.</summary>
    [Fact]
    public async Task Record_WithTimesInSwedishLocalTime_IsTheSameInstants()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var from = DateTimeOffset.UtcNow.AddHours(1);
        var until = from.AddDays(200);
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(HubFixture.NewSubject(), DateTimeOffset.UtcNow))!.AsObject();
        consent["validFrom"] = from.ToOffset(TimeSpan.FromHours(1)).ToString("O");
        consent["validUntil"] = until.ToOffset(TimeSpan.FromHours(2)).ToString("O");

        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        var url = $"{DemoRequests.ConsentPath}/{(await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid()}";
        var stored = await bvc.GetFromJsonAsync<JsonElement>(url, Ct);
        stored.GetProperty("validFrom").GetDateTimeOffset().ShouldBe(from, TimeSpan.FromMilliseconds(1));
        stored.GetProperty("validUntil").GetDateTimeOffset().ShouldBe(until, TimeSpan.FromMilliseconds(1));
    }

    /// <summary>
    /// Every decision about a subject reads all their consents: a client that records them without end (a compromised
    /// one, or a loop) would slow every decision about that child. Past the bound, a clear 409 and nothing stored.
    /// </summary>
    [Fact]
    public async Task Record_PastTheConsentsInForceOneSubjectMayHave_Is409()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        for (var i = 0; i < 50; i++)
        {
            (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        }

        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadAsStringAsync(Ct);
        problem.ShouldContain("consents in force", Case.Insensitive);
        problem.ShouldNotContain(subject);

        // Counted per disclosing unit: another principal's unit may still record one for the child.
        using var solglantan = hub.Client("solglantan-ehr");
        var theirs = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow))!.AsObject();
        theirs["sendingUnits"] = new System.Text.Json.Nodes.JsonArray("solglantan-bvc");
        theirs["recordingUnit"] = "solglantan-bvc";
        (await solglantan.PostAsJsonAsync(DemoRequests.ConsentPath, theirs, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Read_ByAUnitTheConsentDoesNotName_IsNotFound()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var created = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(HubFixture.NewSubject(), DateTimeOffset.UtcNow), Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        var url = $"{DemoRequests.ConsentPath}/{created.GetProperty("id").GetGuid()}";

        (await bvc.GetAsync(url, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await preschool.GetAsync(url, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Record_ByAFosterParentWithoutAnEnd_Gets400NamingBothProblems()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow))!.AsObject();
        consent["grantors"] = JsonSerializer.SerializeToNode(new[] { new { role = "FosterParent", name = "Familjehemsförälder", answer = "Yes" } });
        consent.Remove("validUntil");

        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        problem.GetProperty("errors").TryGetProperty("validUntil", out _).ShouldBeTrue();
        problem.GetProperty("errors").GetProperty("grantors[0]")[0].GetString()!.ShouldContain("foster parents");
        problem.ToString().ShouldNotContain(subject);
    }
}
