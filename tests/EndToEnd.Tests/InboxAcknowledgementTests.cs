using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A receiving system acknowledges a page of its inbox in one request: each id as if acknowledged alone (its sender
/// told, acknowledging again harmless), and an id that is not in the unit's inbox acknowledges nothing and says so.
/// </summary>
public sealed class InboxAcknowledgementTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string AcknowledgePath => $"{DemoRequests.InboxPath}/acknowledge";

    [Fact]
    public async Task AcknowledgingSeveral_TellsEachSender_AndNamesWhatIsNotInTheInbox()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var sent = new List<(Guid Id, string StatusUrl)>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add(await HubFixture.SubmitConsentedReferralAsync(bvc));
        }

        foreach (var (_, statusUrl) in sent)
        {
            await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");
        }

        var stranger = Guid.NewGuid();
        var ids = sent.Select(s => s.Id).Append(stranger).ToArray();
        using var response = await social.PostAsJsonAsync(AcknowledgePath, new { messageIds = ids }, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        result.GetProperty("acknowledged").EnumerateArray().Select(e => e.GetGuid()).ShouldBe(sent.Select(s => s.Id));
        result.GetProperty("notInInbox").EnumerateArray().Select(e => e.GetGuid()).ShouldBe([stranger]);

        // Each sender told as if each had been acknowledged alone: its status view, the ledger and Ops' trail.
        using var ops = hub.Client("ops-console");
        foreach (var (id, statusUrl) in sent)
        {
            await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Acknowledged");
            await Eventually.TrueAsync(async () => await AcknowledgementEntriesAsync(id) == 1, TimeSpan.FromSeconds(30),
                "the ledger did not record the acknowledgement once", cancellationToken: Ct);
            await Eventually.TrueAsync(
                async () => (await ops.GetFromJsonAsync<JsonElement>($"/ops/messages/{id}", Ct)).EnumerateArray()
                    .Any(e => e.GetProperty("status").GetString() == "Acknowledged" && e.GetProperty("receivingUnit").GetString() == DemoRequests.SocialServicesUnit),
                TimeSpan.FromSeconds(30), "Ops' trail never showed the acknowledgement", cancellationToken: Ct);
        }

        // Again: harmless, the same answer.
        using var again = await social.PostAsJsonAsync(AcknowledgePath, new { messageIds = ids }, Ct);
        (await again.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("acknowledged").GetArrayLength().ShouldBe(3);
        var page = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?limit=500", Ct);
        page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("messageId").GetGuid()).ShouldNotContain(id => ids.Contains(id));
    }

    private async Task<long> AcknowledgementEntriesAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM ledger WHERE message_id = @messageId AND kind = 'acknowledgement'", new { messageId });
    }

    [Fact]
    public async Task AnotherUnitsSystem_AcknowledgesNothingInThisInbox()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var (id, statusUrl) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        // The sender's system, at the receiver's inbox: refused at the unit, whatever it names.
        using var response = await bvc.PostAsJsonAsync(AcknowledgePath, new { messageIds = new[] { id } }, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var status = await bvc.GetFromJsonAsync<JsonElement>(statusUrl, Ct);
        status.GetProperty("status").GetString().ShouldBe("Delivered");
    }

    [Theory]
    [InlineData("""{"messageIds": []}""")]
    [InlineData("""{}""")]
    [InlineData("""{"messageIds": ["00000000-0000-0000-0000-000000000000"]}""")]
    [InlineData("""{"messageIds": ["7d1f8c3e-1b2a-4c5d-9e8f-0a1b2c3d4e5f", "7d1f8c3e-1b2a-4c5d-9e8f-0a1b2c3d4e5f"]}""")]
    [InlineData("""{"messageIds": ["19850101-1234"]}""")]
    [InlineData("""{"messageIds": "7d1f8c3e-1b2a-4c5d-9e8f-0a1b2c3d4e5f"}""")]
    [InlineData("""null""")]
    [InlineData("""{"messageIds": ["\u0000"]}""")]
    [InlineData("""{"messageIds": [null]}""")]
    [InlineData("""{"messageIds": [{"id": "19850101-1234"}]}""")]
    public async Task ABodyThatNamesNoValidListOfMessages_IsRefusedWithABoundedProblem(string body)
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var response = await social.PostAsync(AcknowledgePath, new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync(Ct)).ShouldNotContain("19850101-1234");
    }

    [Fact]
    public async Task MoreThanAHundredIds_AreRefused_AndNoneAcknowledged()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var (id, statusUrl) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        var ids = Enumerable.Range(0, 100).Select(_ => Guid.NewGuid()).Prepend(id).ToArray();
        using var response = await social.PostAsJsonAsync(AcknowledgePath, new { messageIds = ids }, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        (await bvc.GetFromJsonAsync<JsonElement>(statusUrl, Ct)).GetProperty("status").GetString().ShouldBe("Delivered");
    }
}
