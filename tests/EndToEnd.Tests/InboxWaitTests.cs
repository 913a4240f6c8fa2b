using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A receiving system may ask its listing to wait for the first message instead of polling an empty inbox: the listing
/// answers as soon as a delivery is stored, waits no longer than asked, and only a few wait at once (each holds a
/// connection from the gateway to the service).
/// </summary>
public sealed class InboxWaitTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Past any row the inbox will ever hold: a listing after it finds nothing, however busy the shared hub is.
    private const string PastEverything = "9000000000000000000";

    [Fact]
    public async Task WaitingListing_AnswersWhenADeliveryIsStored_NotAtTheEndOfItsWait()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var (first, _) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        var cursor = await CursorOfAsync(social, first);

        var waited = Stopwatch.StartNew();
        var listing = social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?limit=500&after={cursor}&wait=20", Ct);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        var (second, _) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        var page = await listing;
        waited.Stop();

        page.GetProperty("items").GetArrayLength().ShouldBeGreaterThan(0);
        waited.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(15), "the listing waited out its 20 s although a delivery was stored");
        (await CursorOfAsync(social, second, after: cursor)).ShouldNotBeNull();
    }

    [Fact]
    public async Task WaitingListing_WithNothingNew_WaitsAsLongAsAskedAndAnswersEmpty()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var waited = Stopwatch.StartNew();
        var page = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?after={PastEverything}&wait=2", Ct);
        waited.Stop();

        page.GetProperty("items").GetArrayLength().ShouldBe(0);
        waited.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(1.9));
        waited.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("21")]
    [InlineData("86400")]
    [InlineData("2147483648")]
    [InlineData("abc")]
    [InlineData("%00")]
    [InlineData("1.5")]
    [InlineData("1&wait=2")]
    public async Task Wait_OutsideItsRange_IsRefusedWithAProblem(string wait)
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var response = await social.GetAsync($"{DemoRequests.InboxPath}?wait={wait}", Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task MoreListingsThanMayWait_TheRestAnswerAtOnce()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var waiting = Enumerable.Range(0, 8)
            .Select(_ => social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?after={PastEverything}&wait=6", Ct))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct); // as many as may wait are waiting by now

        var answered = Stopwatch.StartNew();
        var page = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?after={PastEverything}&wait=6", Ct);
        answered.Stop();
        await Task.WhenAll(waiting);

        page.GetProperty("items").GetArrayLength().ShouldBe(0);
        answered.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3), "a ninth listing waited beside eight, past Inbox:MaxWaiting and MaxWaitingPerUnit");
    }

    /// <summary>
    /// Waiting listings are shared out by unit: one unit's listings, however many, leave room for another unit's to wait.
    /// The same system here, for the two units of social services.
    /// </summary>
    [Fact]
    public async Task OneUnitsListings_LeaveRoomForAnotherUnitsToWait()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var crowding = Enumerable.Range(0, 8)
            .Select(_ => social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?after={PastEverything}&wait=8", Ct))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);

        var waited = Stopwatch.StartNew();
        var page = await social.GetFromJsonAsync<JsonElement>("/social-services/units/malmo-mottagning/inbox?after=" + PastEverything + "&wait=3", Ct);
        waited.Stop();
        await Task.WhenAll(crowding);

        page.GetProperty("items").GetArrayLength().ShouldBe(0);
        waited.Elapsed.ShouldBeGreaterThan(TimeSpan.FromSeconds(2.5), "another unit's listings took every place to wait");
    }

    [Fact]
    public async Task AListingItsClientGaveUpOn_FetchesNothingThatArrivesAfter()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var created = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        var end = await HubFixture.InboxEndAsync(social);

        // The receiving system asks to wait, then goes away (a timeout, a restart) before anything arrives.
        using (var gaveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            var listing = social.GetAsync($"{DemoRequests.InboxPath}?limit=500{(end is null ? "" : $"&after={end}")}&wait=20", gaveUp.Token);
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            await gaveUp.CancelAsync();
            await Should.ThrowAsync<TaskCanceledException>(listing);
        }

        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        var submitted = await (await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var statusUrl = submitted.GetProperty("statusUrl").GetString()!;
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        // Unfetched, a revocation withdraws it; had the abandoned listing taken it, it would stay delivered to no one.
        (await bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{created.GetProperty("id").GetGuid()}/revoke",
            new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Withdrawn");
    }


    /// <summary>The cursor of the message once it is in the inbox (looking for up to 60 s), or null.</summary>
    private static async Task<string?> CursorOfAsync(HttpClient social, Guid messageId, string? after = null)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline)
        {
            var from = after;
            do
            {
                var page = await social.GetFromJsonAsync<JsonElement>(
                    $"{DemoRequests.InboxPath}?limit=500&includeAcknowledged=true{(from is null ? "" : $"&after={from}")}", Ct);
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    if (item.GetProperty("messageId").GetGuid() == messageId)
                    {
                        return item.GetProperty("cursor").GetString();
                    }
                }

                from = page.GetProperty("next") is { ValueKind: JsonValueKind.String } next ? next.GetString() : null;
            }
            while (from is not null);
            await Task.Delay(TimeSpan.FromMilliseconds(200), Ct);
        }

        return null;
    }
}
