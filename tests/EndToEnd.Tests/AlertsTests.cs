using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.EndToEnd.Tests.Console;
using FamiljecentralHub.LocalHub.Pki;
using Microsoft.Playwright;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A hub of its own, on nodes of its own, whose Ops evaluates every second with thresholds of seconds, and posts its alerts to a receiver
/// the fixture runs: the shared hub's other tests leave reports of concern unacknowledged and messages in queues, which
/// would hold these alerts open.
/// </summary>
public sealed class AlertsHubFixture : IAsyncLifetime
{
    public static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    private readonly int receiverPort = FreePorts.Next();
    private WebApplication? receiver;

    public Hub Hub { get; private set; } = null!;

    public DemoPki Pki { get; private set; } = null!;

    /// <summary>Every push the webhook received: its headers and raw body.</summary>
    public ConcurrentQueue<(string Delivery, string Event, string Timestamp, string Signature, string Body)> Pushes { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{receiverPort}");
        receiver = builder.Build();
        receiver.MapPost("/alerts", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync(http.RequestAborted);
            Pushes.Enqueue((http.Request.Headers["X-Hub-Delivery"].ToString(), http.Request.Headers["X-Hub-Event"].ToString(),
                http.Request.Headers["X-Hub-Timestamp"].ToString(), http.Request.Headers["X-Hub-Signature"].ToString(), body));
            return Results.Ok();
        });
        await receiver.StartAsync();

        Hub = await Hub.StartAsync(new HubOptions
        {
            UseFreePorts = true,
            // Private nodes: RabbitMQ's Prometheus plugin is enabled on the nodes a hub starts itself.
            Nodes = HubNodes.Private,
            ConfigureEnvironment = (process, environment) =>
            {
                if (process != "ops")
                {
                    return;
                }

                environment["Alerts__EvaluateEvery"] = "00:00:01";
                environment["Alerts__ErrorQueueFor"] = "00:00:02";
                environment["Alerts__ReportOfConcernUnacknowledgedAfter"] = "00:00:02";
                environment["Alerts__Webhook__Url"] = $"http://127.0.0.1:{receiverPort}/alerts";
                environment["Alerts__Webhook__Secret"] = Convert.ToBase64String(Secret);
                environment["Alerts__Webhook__AllowPlainHttp"] = "true";
            },
        });
        Pki = DemoPki.Ensure(Hub.PkiDir, Hub.ClientIds);
    }

    public async ValueTask DisposeAsync()
    {
        if (Hub is not null)
        {
            await Hub.DisposeAsync();
        }

        if (receiver is not null)
        {
            await receiver.DisposeAsync();
        }
    }

    public HttpClient Client(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl);
}

/// <summary>
/// Alerts for real (issue 13 items 1 and 3): a report of concern left unacknowledged and an error queue holding a
/// message raise their alerts, which GET /ops/alerts shows and the webhook receives signed; acknowledging and emptying
/// clear them, shown and pushed alike. And after a whole scenario, no metric of any service, of the gateway or of the
/// broker names a subject.
/// </summary>
public sealed class AlertsTests(AlertsHubFixture hub, ConsoleBrowserFixture browser) : IClassFixture<AlertsHubFixture>, IClassFixture<ConsoleBrowserFixture>
{
    private const string Bvc = DemoRequests.ChildHealthUnit;
    private const string Intake = "malmo-mottagning";
    private const string ReportPath = $"/child-health/units/{Bvc}/reports-of-concern";
    private const string Concern = "Blåmärken på armarna vid två besök.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReportOfConcern_LeftUnacknowledged_RaisesAnAlert_ShownAndPushedSigned_AndAcknowledgingClearsIt()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var ops = hub.Client("ops-console");
        var submitted = await bvc.PostAsJsonAsync(ReportPath, new { receivingUnit = Intake, subjectId = HubFixture.NewSubject(), concern = Concern, actingUser = "SE2321000016-BVC1" }, Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync(Ct));
        var message = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = message.GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(bvc, message.GetProperty("statusUrl").GetString()!, "Delivered");

        var raised = await WaitForAlertAsync(ops, "open", "report-of-concern-unacknowledged", Intake);
        var detail = raised.GetProperty("detail").GetString()!;
        detail.ShouldContain(messageId.ToString());
        detail.ShouldContain("not acknowledged");
        detail.ShouldNotContain(Concern);
        raised.GetProperty("clearedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        var id = raised.GetProperty("id").GetInt64();
        // Scoped per principal: the intake's municipality sees its unit's alert, the region does not.
        using (var malmo = hub.Client("ops-malmo-stad"))
        using (var region = hub.Client("ops-region-skane"))
        {
            (await AlertsAsync(malmo)).GetProperty("open").EnumerateArray().ShouldContain(a => a.GetProperty("id").GetInt64() == id);
            (await AlertsAsync(region)).GetProperty("open").EnumerateArray().ShouldNotContain(a => a.GetProperty("id").GetInt64() == id);
        }

        (await VerifiedPushAsync($"alert-{id}-raised", "alert-raised")).GetProperty("alert").GetProperty("key").GetString().ShouldBe(Intake);

        // On the console's Alerts page, in a real browser, as the intake's municipality's operator sees it.
        var page = await AlertsPageAsync("ops-malmo-stad");
        if (page is not null)
        {
            await Assertions.Expect(page.Locator($"[data-rule=report-of-concern-unacknowledged][data-key={Intake}]")).ToBeVisibleAsync();
            (await page.ContentAsync()).ShouldNotContain(Concern);
            await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleBrowserFixture.ScreenshotFolder, "alerts-raised.png"), FullPage = true });
        }

        (await social.PostAsync($"/social-services/units/{Intake}/inbox/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var cleared = await WaitForAlertAsync(ops, "recent", "report-of-concern-unacknowledged", Intake, id);
        if (page is not null)
        {
            // The page refreshes itself: the alert moves from open to cleared without a reload.
            await Assertions.Expect(page.Locator($"[data-cleared-rule=report-of-concern-unacknowledged][data-key={Intake}]").First).ToBeVisibleAsync(new() { Timeout = 25_000 });
            await Assertions.Expect(page.Locator($"[data-rule=report-of-concern-unacknowledged][data-key={Intake}]")).ToHaveCountAsync(0);
            await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleBrowserFixture.ScreenshotFolder, "alerts-cleared.png"), FullPage = true });
        }

        cleared.GetProperty("clearedAt").GetDateTimeOffset().ShouldBeGreaterThanOrEqualTo(cleared.GetProperty("raisedAt").GetDateTimeOffset());
        (await AlertsAsync(ops)).GetProperty("open").EnumerateArray().ShouldNotContain(a => a.GetProperty("id").GetInt64() == id);
        (await VerifiedPushAsync($"alert-{id}-cleared", "alert-cleared")).GetProperty("state").GetString().ShouldBe("cleared");
    }

    /// <summary>The Alerts page in Chromium; null where no browser is installed outside CI (ConsoleBrowserTests says why).</summary>
    private async Task<IPage?> AlertsPageAsync(string operatorClient)
    {
        if (!browser.Available)
        {
            Environment.GetEnvironmentVariable("CI").ShouldNotBe("true", $"{ConsoleBrowserFixture.Chromium} is missing");
            return null;
        }

        var page = await (await browser.OperatorAsync(hub.Hub.GatewayUrl, hub.Pki, operatorClient)).NewPageAsync();
        await page.GotoAsync("/ops/console/alerts");
        return page;
    }

    [Fact]
    public async Task ErrorQueue_HoldingAMessage_RaisesAnAlertThroughTheMonitoringUser_AndEmptyingItClearsIt()
    {
        using var ops = hub.Client("ops-console");
        var queue = $"alerts-test-{Guid.NewGuid():N}_error";
        var rabbit = hub.Hub.Rabbit;
        await rabbit.DeclareQuorumQueueAsync(hub.Hub.VirtualHost, queue, Ct);
        var factory = new ConnectionFactory
        {
            HostName = rabbit.Host, Port = rabbit.AmqpPort, VirtualHost = hub.Hub.VirtualHost,
            UserName = rabbit.AdminUser, Password = rabbit.AdminPassword, AutomaticRecoveryEnabled = false,
        };
        await using var connection = await factory.CreateConnectionAsync(Ct);
        await using var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct);
        await channel.BasicPublishAsync("", queue, mandatory: true, new BasicProperties { Persistent = true }, "{}"u8.ToArray(), Ct);

        var raised = await WaitForAlertAsync(ops, "open", "error-queue-not-empty", queue);
        raised.GetProperty("detail").GetString().ShouldBe($"1 message(s) in {queue}");
        var id = raised.GetProperty("id").GetInt64();
        await VerifiedPushAsync($"alert-{id}-raised", "alert-raised");
        using (var malmo = hub.Client("ops-malmo-stad"))
        {
            (await AlertsAsync(malmo)).GetProperty("open").EnumerateArray().ShouldNotContain(
                a => a.GetProperty("id").GetInt64() == id, "a queue is the hub's to run, not a principal's");
        }

        using (var direct = new HttpClient(InternalHandler()) { BaseAddress = hub.Hub.ServiceUrl("ops") })
        {
            // The gauges follow the store at the end of each evaluation: the one that raised it, or the next.
            await Eventually.MatchAsync(
                () => direct.GetStringAsync("/metrics", Ct),
                metrics => metrics.Contains($"hub_queue_messages{{otel_scope_name=\"FamiljecentralHub\",queue=\"{queue}\"}} 1", StringComparison.Ordinal)
                           && metrics.Contains("hub_alerts_open{otel_scope_name=\"FamiljecentralHub\",rule=\"error-queue-not-empty\"} 1", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10), metrics => $"Ops's gauges do not show the queue and its alert: {metrics}", TimeSpan.FromMilliseconds(250), Ct);
        }

        // The monitoring user sees the count and nothing more: it may neither take the message nor publish.
        var monitoring = hub.Hub.MonitoringAccount;
        await using (var monitor = await new ConnectionFactory
        {
            HostName = rabbit.Host, Port = rabbit.AmqpPort, VirtualHost = hub.Hub.VirtualHost,
            UserName = monitoring.User, Password = monitoring.Password, AutomaticRecoveryEnabled = false,
        }.CreateConnectionAsync(Ct))
        {
            await using (var get = await monitor.CreateChannelAsync(cancellationToken: Ct))
            {
                var refused = await Should.ThrowAsync<OperationInterruptedException>(() => get.BasicGetAsync(queue, autoAck: true, Ct));
                ((int)refused.ShutdownReason.ShouldNotBeNull().ReplyCode).ShouldBe(Constants.AccessRefused, refused.Message);
            }

            await using var publish = await RawAmqp.OpenConfirmingChannelAsync(monitor, Ct);
            await Should.ThrowAsync<Exception>(() => publish.BasicPublishAsync("", queue, mandatory: true, new BasicProperties(), "{}"u8.ToArray(), Ct).AsTask());
        }

        (await channel.BasicGetAsync(queue, autoAck: true, Ct)).ShouldNotBeNull();
        await WaitForAlertAsync(ops, "recent", "error-queue-not-empty", queue, id);
        await VerifiedPushAsync($"alert-{id}-cleared", "alert-cleared");
        await channel.QueueDeleteAsync(queue, cancellationToken: Ct);
    }

    [Fact]
    public async Task Metrics_AfterAScenario_NameNoSubject_AndCarryTheAlertsInputs()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var (referred, reported) = (HubFixture.NewSubject(), HubFixture.NewSubject());
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(referred, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var referral = await (await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(referred), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        await HubFixture.WaitForStatusAsync(bvc, referral.GetProperty("statusUrl").GetString()!, "Delivered");
        (await social.PostAsync($"{DemoRequests.InboxPath}/{referral.GetProperty("messageId").GetGuid()}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var report = await (await bvc.PostAsJsonAsync(ReportPath, new { receivingUnit = Intake, subjectId = reported, concern = Concern, actingUser = "SE2321000016-BVC1" }, Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        await HubFixture.WaitForStatusAsync(bvc, report.GetProperty("statusUrl").GetString()!, "Delivered");
        (await social.PostAsync($"/social-services/units/{Intake}/inbox/{report.GetProperty("messageId").GetGuid()}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        // A refusal too: no consent covers this one.
        var refused = await (await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(HubFixture.NewSubject()), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        await HubFixture.WaitForStatusAsync(bvc, refused.GetProperty("statusUrl").GetString()!, "Refused");

        var pseudonyms = new Pseudonymizer(Microsoft.Extensions.Options.Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey }));
        string[] forbidden = [referred, reported, referred.Replace("-", ""), reported.Replace("-", ""), pseudonyms.For(referred), pseudonyms.For(reported),
            Concern, "Vårdnadshavare 1", "Föräldrarna önskar stöd"];
        var scraped = new Dictionary<string, string>();
        using (var handler = InternalHandler())
        using (var direct = new HttpClient(handler))
        {
            // The metrics are read as Prometheus would, after the last delivery has been counted.
            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            foreach (var service in Hub.ServiceNames)
            {
                scraped[service] = await direct.GetStringAsync(new Uri(hub.Hub.ServiceUrl(service), "/metrics"), Ct);
            }
        }

        using (var plain = new HttpClient())
        {
            scraped["gateway"] = await plain.GetStringAsync(new Uri(hub.Hub.GatewayHealthUrl, "/metrics"), Ct);
            scraped["rabbitmq"] = await plain.GetStringAsync(new Uri($"http://{hub.Hub.Rabbit.Host}:{hub.Hub.Rabbit.PrometheusPort}/metrics"), Ct);
        }

        foreach (var (source, text) in scraped)
        {
            foreach (var personal in forbidden)
            {
                text.ShouldNotContain(personal, Case.Insensitive, $"{source}'s /metrics names a subject or repeats message text");
            }
        }

        scraped["ops"].ShouldSatisfyAllConditions(
            m => m.ShouldContain("hub_messages_total{otel_scope_name=\"FamiljecentralHub\",basis=\"consent\",purpose=\"Referral\",status=\"Delivered\"}"),
            m => m.ShouldContain("status=\"Refused\""),
            m => m.ShouldContain("hub_alerts_open{"));
        scraped["social-services"].ShouldContain("hub_delivery_latency_seconds_bucket{otel_scope_name=\"FamiljecentralHub\",purpose=\"ReportOfConcern\"");
        scraped["consent"].ShouldSatisfyAllConditions(
            m => m.ShouldContain("hub_gate_decisions_total{"),
            m => m.ShouldContain("hub_messaging_watchdog_restarts_total{otel_scope_name=\"FamiljecentralHub\"} 0"));
        scraped["gateway"].ShouldContain($"hub_gateway_client_certificate_expiry_time_seconds{{otel_scope_name=\"FamiljecentralHub\",client=\"{DemoRequests.ChildHealthClient}\"}}");
        scraped["rabbitmq"].ShouldContain("rabbitmq_queue_messages");
        // The ledger is checked against its newest checkpoint at the checkpointer's next ticks (every 10 s here).
        await Eventually.TrueAsync(async () =>
        {
            using var handler = InternalHandler();
            using var direct = new HttpClient(handler);
            return (await direct.GetStringAsync(new Uri(hub.Hub.ServiceUrl("consent"), "/metrics"), Ct)).Contains("hub_ledger_verified{otel_scope_name=\"FamiljecentralHub\"} 1");
        }, TimeSpan.FromSeconds(40), "the consent service never reported the ledger verified", TimeSpan.FromSeconds(1), Ct);
    }

    private SocketsHttpHandler InternalHandler() =>
        ServiceDefaults.Tls.InternalTls.CreateHandler(ServiceDefaults.Tls.InternalTls.LoadAuthorities(hub.Pki.InternalCaCertificatePath), clientCertificate: null);

    private static async Task<JsonElement> AlertsAsync(HttpClient ops)
    {
        var response = await ops.GetAsync("/ops/alerts", Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    /// <summary>The alert of <paramref name="rule"/> and <paramref name="key"/> (with <paramref name="id"/>, if given) once it is in the list <paramref name="list"/>.</summary>
    private static async Task<JsonElement> WaitForAlertAsync(HttpClient ops, string list, string rule, string key, long? id = null)
    {
        JsonElement? Find(JsonElement alerts) => alerts.GetProperty(list).EnumerateArray()
            .Where(a => a.GetProperty("rule").GetString() == rule && a.GetProperty("key").GetString() == key
                        && (id is null || a.GetProperty("id").GetInt64() == id))
            .Select(a => (JsonElement?)a).FirstOrDefault();
        var found = await Eventually.MatchAsync(
            async () => Find(await AlertsAsync(ops)), a => a is not null, TimeSpan.FromSeconds(40),
            _ => $"no {rule} alert for {key} in the {list} alerts", TimeSpan.FromMilliseconds(250), Ct);
        return found!.Value;
    }

    /// <summary>The push with that delivery id, its signature checked as docs/webhooks.md tells a receiver to; its body.</summary>
    private async Task<JsonElement> VerifiedPushAsync(string delivery, string eventType)
    {
        var push = await Eventually.MatchAsync(
            () => Task.FromResult(hub.Pushes.FirstOrDefault(p => p.Delivery == delivery)), p => p.Delivery is not null, TimeSpan.FromSeconds(30),
            _ => $"no push {delivery}", TimeSpan.FromMilliseconds(100), Ct);
        push.Event.ShouldBe(eventType);
        long.Parse(push.Timestamp, System.Globalization.CultureInfo.InvariantCulture).ShouldBeInRange(
            DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 300, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(
            AlertsHubFixture.Secret, Encoding.UTF8.GetBytes($"{push.Delivery}.{push.Event}.{push.Timestamp}.{push.Body}")));
        push.Signature.ShouldBe(expected);
        return JsonDocument.Parse(push.Body).RootElement;
    }
}
