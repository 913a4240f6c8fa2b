using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The receiving system registers a webhook through the gateway and gets the referral pushed, signed with the secret it
/// was given, instead of pulling its inbox.
/// </summary>
public sealed class WebhookTests(HubFixture hub)
{
    private const string WebhookPath = $"/social-services/units/{DemoRequests.SocialServicesUnit}/webhook";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Referral_UnitWithWebhook_PushedSignedAndMarkedFetched()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var received = new ConcurrentQueue<(string Delivery, string Timestamp, string Signature, string Body)>();
        await using var receiver = await StartReceiverAsync(async http =>
        {
            using var reader = new StreamReader(http.Request.Body);
            received.Enqueue((http.Request.Headers["X-Hub-Delivery"].ToString(), http.Request.Headers["X-Hub-Timestamp"].ToString(),
                http.Request.Headers["X-Hub-Signature"].ToString(), await reader.ReadToEndAsync(http.RequestAborted)));
            return Results.Ok();
        });
        var url = receiver.Urls.Single() + "/hook";

        (await social.PutAsJsonAsync(WebhookPath, new { url = "not a url" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var registered = await social.PutAsJsonAsync(WebhookPath, new { url }, Ct);
        registered.StatusCode.ShouldBe(HttpStatusCode.OK);
        var secret = Convert.FromBase64String((await registered.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("secret").GetString()!);
        secret.Length.ShouldBe(32);
        try
        {
            var shown = await social.GetFromJsonAsync<JsonElement>(WebhookPath, Ct);
            shown.GetProperty("url").GetString().ShouldBe(url);
            shown.TryGetProperty("secret", out _).ShouldBeFalse();

            var subject = HubFixture.NewSubject();
            (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).EnsureSuccessStatusCode();
            var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
            var messageId = (await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();

            await Eventually.TrueAsync(
                () => Task.FromResult(received.Any(r => r.Delivery == messageId.ToString())),
                TimeSpan.FromSeconds(30), $"no webhook push for {messageId}", TimeSpan.FromMilliseconds(100), Ct);

            var push = received.Single(r => r.Delivery == messageId.ToString());
            var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(
                secret, Encoding.UTF8.GetBytes($"{push.Delivery}.inbox-item.{push.Timestamp}.{push.Body}")));
            push.Signature.ShouldBe(expected);
            var item = JsonDocument.Parse(push.Body).RootElement;
            item.GetProperty("messageId").GetGuid().ShouldBe(messageId);
            item.GetProperty("subjectId").GetString().ShouldBe(subject);

            // Pushed counts as fetched: the item is still readable by id, and acknowledging it works as after a pull.
            (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }
        finally
        {
            // Other tests pull this unit's inbox.
            (await social.DeleteAsync(WebhookPath, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await social.GetAsync(WebhookPath, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// A push the receiving system answered with an error may still have reached it. When the consent is revoked before
    /// the system took the item, the item is withdrawn (never handed out again) and listed in the notice as well, so the
    /// system learns that what it may hold is under a revoked consent; a withdrawal alone would leave it unaware.
    /// </summary>
    [Fact]
    public async Task Revocation_OfAnItemAFailedPushMayHaveReached_WithdrawsItAndListsItInTheNotice()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var pushed = new ConcurrentQueue<string>();
        await using var receiver = await StartReceiverAsync(async http =>
        {
            using var reader = new StreamReader(http.Request.Body);
            await reader.ReadToEndAsync(http.RequestAborted); // read, then fail
            pushed.Enqueue(http.Request.Headers["X-Hub-Delivery"].ToString());
            return Results.StatusCode(500);
        });
        (await social.PutAsJsonAsync(WebhookPath, new { url = receiver.Urls.Single() + "/hook" }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        try
        {
            var subject = HubFixture.NewSubject();
            var recorded = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct);
            recorded.EnsureSuccessStatusCode();
            var consentId = (await recorded.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
            var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
            var messageId = (await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
            await Eventually.TrueAsync(
                () => Task.FromResult(pushed.Contains(messageId.ToString())),
                TimeSpan.FromSeconds(30), $"no webhook push for {messageId}", TimeSpan.FromMilliseconds(100), Ct);

            (await bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}/revoke",
                new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" }, Ct))
                .StatusCode.ShouldBe(HttpStatusCode.OK);

            await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{messageId}", "Withdrawn");
            (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            await using var connection = new Npgsql.NpgsqlConnection(hub.Hub.ConnectionString("social-services"));
            (await Dapper.SqlMapper.ExecuteScalarAsync<bool>(connection,
                "SELECT EXISTS (SELECT 1 FROM revocation_notices WHERE consent_id = @consentId AND @messageId = ANY(message_ids))",
                new { consentId, messageId })).ShouldBeTrue("the system may hold it: the notice must say it is under a revoked consent");
        }
        finally
        {
            (await social.DeleteAsync(WebhookPath, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }
    }

    /// <summary>A receiving system's webhook: a Kestrel on a free loopback port answering POST /hook.</summary>
    private static async Task<WebApplication> StartReceiverAsync(Func<HttpContext, Task<IResult>> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = builder.Build();
        receiver.MapPost("/hook", answer);
        await receiver.StartAsync(Ct);
        return receiver;
    }
}
