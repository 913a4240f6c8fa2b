using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>What a raise or clear pushes: the alert as <c>GET /ops/alerts</c> lists it, and whether it was raised or cleared.</summary>
public sealed record AlertEvent(string State, Alert Alert);

/// <summary>
/// Pushes each raise and clear to the operators' webhook (Alerts:Webhook), signed as the hub signs receivers' webhooks
/// (docs/webhooks.md: X-Hub-Delivery, X-Hub-Event, X-Hub-Timestamp, X-Hub-Signature = v1=HMAC-SHA256 over
/// "delivery.event.timestamp.body"), with Polly's retries in the "alerts-webhook" HttpClient. The evaluator only
/// enqueues: a slow or absent receiver never holds up an evaluation. The queue is bounded; when a receiver is down for
/// so long that it fills, the oldest pushes are dropped and counted, and the alerts stay in the store and in
/// <c>GET /ops/alerts</c>.
/// </summary>
internal sealed partial class AlertWebhook(
    IHttpClientFactory clients, IOptionsMonitor<AlertOptions> options, ILogger<AlertWebhook> logger) : BackgroundService
{
    public const string ClientName = "alerts-webhook";
    public const string RaisedEvent = "alert-raised";
    public const string ClearedEvent = "alert-cleared";

    private const int Capacity = 10_000;

    internal static readonly HttpRequestOptionsKey<(byte[] Secret, string DeliveryId, string EventType, string Body)> SigningOption =
        new("FamiljecentralHub.Ops.Alerts.Push");

    private static readonly Counter<long> Dropped = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.alerts.webhook.dropped", description: "Alert pushes dropped because the webhook queue was full.");

    private static readonly Counter<long> Failed = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.alerts.webhook.failed", description: "Alert pushes that failed after every retry.");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Channel<AlertEvent> queue = Channel.CreateBounded<AlertEvent>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    }, _ => Dropped.Add(1));

    /// <summary>Never waits: the push is queued, or (no webhook configured) nothing happens.</summary>
    public void Enqueue(AlertEvent alertEvent)
    {
        if (!string.IsNullOrEmpty(options.CurrentValue.Webhook.Url))
        {
            queue.Writer.TryWrite(alertEvent);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var alertEvent in queue.Reader.ReadAllAsync(stoppingToken))
        {
            await PushAsync(alertEvent, stoppingToken);
        }
    }

    internal async Task<bool> PushAsync(AlertEvent alertEvent, CancellationToken cancellationToken)
    {
        var hook = options.CurrentValue.Webhook;
        if (string.IsNullOrEmpty(hook.Url) || hook.SecretBytes() is not { } secret)
        {
            return false;
        }

        var eventType = alertEvent.State == "cleared" ? ClearedEvent : RaisedEvent;
        // One delivery id per alert and transition: a receiver deduplicates retries by it.
        var deliveryId = string.Create(CultureInfo.InvariantCulture, $"alert-{alertEvent.Alert.Id}-{alertEvent.State}");
        var body = JsonSerializer.Serialize(alertEvent, Json);
        // HttpClient's span would carry the URL, which may hold the receiver's credential.
        using var untraced = SuppressInstrumentationScope.Begin();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Options.Set(SigningOption, (secret, deliveryId, eventType, body));
            using var response = await clients.CreateClient(ClientName).SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }

            LogFailed(logger, deliveryId, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The type only: an HttpRequestException's message names the host and port.
            LogFailed(logger, deliveryId, e.GetType().Name);
        }

        Failed.Add(1);
        return false;
    }

    /// <summary>The signature scheme of docs/webhooks.md, byte for byte (WebhookSender.Signature in the operation services).</summary>
    public static string Signature(byte[] secret, string deliveryId, string eventType, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{deliveryId}.{eventType}.{timestamp}.{body}")));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert push {DeliveryId} failed after its retries ({Failure}); the alert stays in GET /ops/alerts.")]
    private static partial void LogFailed(ILogger logger, string deliveryId, string failure);
}

/// <summary>Signs each attempt as it leaves, below the retries: a retry carries a fresh timestamp, as the receivers' webhooks do.</summary>
internal sealed class AlertSigningHandler(TimeProvider clock) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(AlertWebhook.SigningOption, out var push))
        {
            var timestamp = clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            foreach (var header in (string[])["X-Hub-Delivery", "X-Hub-Event", "X-Hub-Timestamp", "X-Hub-Signature"])
            {
                request.Headers.Remove(header);
            }

            request.Headers.Add("X-Hub-Delivery", push.DeliveryId);
            request.Headers.Add("X-Hub-Event", push.EventType);
            request.Headers.Add("X-Hub-Timestamp", timestamp);
            request.Headers.Add("X-Hub-Signature", "v1=" + AlertWebhook.Signature(push.Secret, push.DeliveryId, push.EventType, timestamp, push.Body));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
