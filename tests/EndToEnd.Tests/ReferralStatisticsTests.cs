using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The family centres' referral statistics through the gateway: the referrals a unit sends are counted in their month and
/// pair of operations, as JSON and as CSV, with no personal data and nothing below the threshold shown.
/// </summary>
public sealed class ReferralStatisticsTests(HubFixture hub)
{
    private const string StatisticsPath = "/ops/statistics/referrals";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Referrals_DeliveredThisMonth_AreCountedForTheCentreAndPairWithoutPersonalData()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var ops = hub.Client("ops-console");
        var month = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm")).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var before = await MonthTotalAsync(ops, month);
        var subjects = new List<string>();
        var delivered = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            var subject = HubFixture.NewSubject();
            subjects.Add(subject);
            var consent = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct);
            consent.StatusCode.ShouldBe(HttpStatusCode.Created);
            var sent = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
            sent.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var id = (await sent.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
            await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{id}", "Delivered");
            delivered.Add(id);
        }

        // The centre's month total, not the pair's: a pair's figures may be hidden as the complement of another pair's
        // small count that month (then its total over one month is that hidden figure, and hidden too), but a month total
        // of five or more is always shown.
        var after = await Eventually.MatchAsync(() => MonthTotalAsync(ops, month), total => total >= (before ?? 0) + 5,
            TimeSpan.FromSeconds(20), total => $"the centre's month total stayed at {total}", cancellationToken: Ct);
        after.ShouldNotBeNull("five or more referrals are not suppressed");

        var json = await ops.GetStringAsync($"{StatisticsPath}?from={month}&to={month}", Ct);
        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"{StatisticsPath}?from={month}&to={month}");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var csvResponse = await ops.SendAsync(csvRequest, Ct);
        csvResponse.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var csv = await csvResponse.Content.ReadAsStringAsync(Ct);
        csv.ShouldStartWith("table,familyCentre,period,sendingOperation,receivingOperation,measure,value,suppressed");
        // Other tests refer at the same time: the CSV, read later, shows at least what the JSON did.
        var line = csv.Split("\r\n").Single(l => l.StartsWith($"month-totals,fc-rosengard,{month},,,referrals,", StringComparison.Ordinal));
        long.Parse(line.Split(',')[6], System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(after!.Value);
        line.ShouldEndWith(",false");
        foreach (var subject in subjects)
        {
            json.ShouldNotContain(subject);
            csv.ShouldNotContain(subject);
        }

        // The receiving system takes them in, as it would: an inbox left full slows the other tests' fetchers.
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        foreach (var id in delivered)
        {
            (await social.PostAsync($"{DemoRequests.InboxPath}/{id}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        // Nothing from one to four is shown anywhere.
        foreach (var value in JsonDocument.Parse(json).RootElement.GetProperty("referrals").EnumerateArray().Select(r => r.GetProperty("referrals")))
        {
            if (value.ValueKind == JsonValueKind.Number)
            {
                value.GetInt64().ShouldBeGreaterThanOrEqualTo(5);
            }
        }
    }

    [Theory]
    [InlineData("from=2026-13")]
    [InlineData("from=199001011234")]
    [InlineData("from=2000-01&to=2026-01")]
    [InlineData("from=2026-05&to=2026-04")]
    public async Task Referrals_ABadRange_IsA400ThatDoesNotRepeatIt(string query)
    {
        using var ops = hub.Client("ops-console");

        var response = await ops.GetAsync($"{StatisticsPath}?{query}", Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var body = await response.Content.ReadAsStringAsync(Ct);
        body.ShouldNotContain("199001011234");
        body.ShouldContain("\"errors\"");
    }

    private static async Task<long?> MonthTotalAsync(HttpClient ops, string month)
    {
        var statistics = await ops.GetFromJsonAsync<JsonElement>($"{StatisticsPath}?from={month}&to={month}", Ct);
        var total = statistics.GetProperty("monthTotals").EnumerateArray().FirstOrDefault(m =>
            m.GetProperty("familyCentre").GetString() == "fc-rosengard" && m.GetProperty("month").GetString() == month);
        return total.ValueKind == JsonValueKind.Object && total.GetProperty("referrals").ValueKind == JsonValueKind.Number
            ? total.GetProperty("referrals").GetInt64()
            : null;
    }
}
