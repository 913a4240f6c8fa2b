using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace FamiljecentralHub.Operations.Webhooks;

/// <summary>
/// One push to a receiving system's webhook: signed, through the "webhooks" HttpClient and its resilience pipeline
/// (<see cref="WebhookServiceExtensions.AddWebhookSender"/>), one pipeline per unit's registered URL.
/// </summary>
internal sealed class WebhookSender(IHttpClientFactory clients, ILogger<WebhookSender> logger)
{
    public const string ClientName = "webhooks";

    public const string DeliveryHeader = "X-Hub-Delivery";
    public const string TimestampHeader = "X-Hub-Timestamp";
    public const string SignatureHeader = "X-Hub-Signature";
    public const string EventHeader = "X-Hub-Event";

    /// <summary>The signature scheme, named in the header ("v1=…") so that a receiver still checking the old one fails loudly.</summary>
    public const string SignatureVersion = "v1";

    /// <summary>What the pipeline and the signing handler need to know of a push, carried on its request.</summary>
    internal static readonly HttpRequestOptionsKey<Push> PushOption = new("FamiljecentralHub.Webhooks.Push");

    /// <summary>
    /// <see cref="PushOutcome.Pushed"/> when the receiver answered 2xx; <see cref="PushOutcome.MaybeReceived"/> when an
    /// attempt began to send it the body but none succeeded (it answered otherwise, or the exchange broke off), so it may
    /// hold the body. Never throws for the receiver's failures: the caller leaves the row in the inbox and tries again
    /// later. Logs only the delivery id and the unit: the body is personal data, and a URL's query or the secret may be
    /// credentials.
    /// </summary>
    public async Task<PushOutcome> PushAsync(Webhook hook, string deliveryId, string eventType, string body, CancellationToken cancellationToken)
    {
        var push = new Push(PipelineKey(hook), hook.Secret, deliveryId, eventType, body);
        // HttpClient's own span would carry the URL (url.full), and a URL may hold a receiver's credential.
        using var untraced = SuppressInstrumentationScope.Begin();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new PushContent(push) };
            request.Options.Set(PushOption, push);
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return PushOutcome.Pushed;
            }

            logger.LogWarning("Webhook push of {DeliveryId} to unit {Unit} answered {Status}", deliveryId, hook.Unit, (int)response.StatusCode);
        }
        catch (HttpRequestException ex) when (ex.InnerException is WebhookTargetRefusedException)
        {
            // Registered as a public address, resolving now to one the hub may not reach: the row waits, the system can pull.
            logger.LogWarning("Webhook push of {DeliveryId} to unit {Unit} refused: its host now resolves only to addresses pushes may not reach",
                deliveryId, hook.Unit);
        }
        catch (BrokenCircuitException)
        {
            logger.LogInformation("Webhook of unit {Unit} is resting (circuit open); {DeliveryId} stays in the inbox", hook.Unit, deliveryId);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The type only: an HttpRequestException's message names the host and port.
            logger.LogWarning("Webhook push of {DeliveryId} to unit {Unit} failed: {Failure}", deliveryId, hook.Unit, ex.GetType().Name);
        }
        catch (OperationCanceledException)
        {
            // The service is stopping: what this push may have left with the receiver is still recorded (the caller commits
            // without the token), or a revocation before the next push would withdraw it unnoticed.
            logger.LogInformation("Webhook push of {DeliveryId} to unit {Unit} broken off: the service is stopping", deliveryId, hook.Unit);
        }

        return push.Reached ? PushOutcome.MaybeReceived : PushOutcome.NotSent;
    }

    /// <summary>
    /// One pipeline, and so one circuit breaker, per unit and registered URL: one receiver down must not rest the others,
    /// and a unit that registers a new URL starts afresh. The key names the unit and a digest of the URL, never the URL:
    /// it is the pipeline's instance name in Polly's telemetry.
    /// </summary>
    internal static string PipelineKey(Webhook hook) =>
        $"{hook.Unit}/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hook.Url)))[..16]}";

    /// <summary>The signed headers, replacing those of an earlier attempt of the same request.</summary>
    internal static void Sign(HttpRequestMessage request, byte[] secret, string deliveryId, string eventType, string body, long unixSeconds)
    {
        var timestamp = unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var header in (string[])[DeliveryHeader, EventHeader, TimestampHeader, SignatureHeader])
        {
            request.Headers.Remove(header);
        }

        request.Headers.Add(DeliveryHeader, deliveryId);
        request.Headers.Add(EventHeader, eventType);
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, SignatureVersion + "=" + Signature(secret, deliveryId, eventType, timestamp, body));
    }

    /// <summary>
    /// Lower-case hex HMAC-SHA256 over "deliveryId.eventType.timestamp.body" (UTF-8), keyed with the secret's 32 raw
    /// bytes. Every header a receiver acts on is signed, as Standard Webhooks signs "id.timestamp.body": a body cannot be
    /// replayed under another delivery id (past the receiver's deduplication) nor as another event. The id (a GUID), the
    /// event (a fixed word) and the timestamp (digits) hold no dot, so the joined string is unambiguous.
    /// </summary>
    public static string Signature(byte[] secret, string deliveryId, string eventType, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{deliveryId}.{eventType}.{timestamp}.{body}")));
}

/// <summary>A unit's registered webhook as the dispatcher needs it.</summary>
internal sealed class Webhook
{
    public string Unit { get; init; } = "";
    public string Url { get; init; } = "";
    public byte[] Secret { get; init; } = [];
}

/// <summary>A push as its request carries it: the pipeline's key, and what the signature covers.</summary>
internal sealed record Push(string PipelineKey, byte[] Secret, string DeliveryId, string EventType, string Body)
{
    /// <summary>An attempt began to write the body on a connection: the receiver may have read it, whatever came of it.</summary>
    public bool Reached { get; set; }
}

/// <summary>
/// The push's body, which marks the push <see cref="Push.Reached"/> when an attempt starts writing it: only then can the
/// receiver hold it. A connection that was never made (refused, timed out, a name that does not resolve, TLS that failed)
/// never writes it, whatever exception that surfaces as.
/// </summary>
internal sealed class PushContent : ByteArrayContent
{
    private readonly Push push;

    public PushContent(Push push) : base(Encoding.UTF8.GetBytes(push.Body))
    {
        this.push = push;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
    }

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        push.Reached = true;
        return base.SerializeToStreamAsync(stream, context);
    }

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
    {
        push.Reached = true;
        return base.SerializeToStreamAsync(stream, context, cancellationToken);
    }

    protected override void SerializeToStream(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
    {
        push.Reached = true;
        base.SerializeToStream(stream, context, cancellationToken);
    }
}

internal enum PushOutcome
{
    NotSent,
    MaybeReceived,
    Pushed,
}

/// <summary>
/// Signs each attempt as it leaves, below the resilience pipeline: a retry carries a fresh timestamp, so receivers can
/// keep a tight replay window.
/// </summary>
internal sealed class WebhookSigningHandler(TimeProvider clock) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(WebhookSender.PushOption, out var push))
        {
            WebhookSender.Sign(request, push.Secret, push.DeliveryId, push.EventType, push.Body, clock.GetUtcNow().ToUnixTimeSeconds());
        }

        return base.SendAsync(request, cancellationToken);
    }
}
