using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;
using Polly.Timeout;

namespace FamiljecentralHub.Operations.Webhooks;

/// <summary>One push to a receiving system's webhook: signed, through a resilience pipeline of its own URL.</summary>
internal sealed class WebhookSender(
    HttpClient http, ResiliencePipelineRegistry<string> pipelines, IOptions<WebhookOptions> options, TimeProvider clock,
    ILogger<WebhookSender> logger)
{
    public const string DeliveryHeader = "X-Hub-Delivery";
    public const string TimestampHeader = "X-Hub-Timestamp";
    public const string SignatureHeader = "X-Hub-Signature";
    public const string EventHeader = "X-Hub-Event";

    /// <summary>The signature scheme, named in the header ("v1=…") so that a receiver still checking the old one fails loudly.</summary>
    public const string SignatureVersion = "v1";

    /// <summary>
    /// True when the receiver answered 2xx. Never throws for the receiver's failures: the caller leaves the row in the
    /// inbox and tries again later. Logs only the delivery id and the unit: the body is personal data, and a URL's
    /// query or the secret may be credentials.
    /// </summary>
    public async Task<bool> PushAsync(Webhook hook, string deliveryId, string eventType, string body, CancellationToken cancellationToken)
    {
        var pipeline = PipelineFor(hook.Url);
        // HttpClient's own span would carry the URL (url.full), and a URL may hold a receiver's credential.
        using var untraced = SuppressInstrumentationScope.Begin();
        try
        {
            using var response = await pipeline.ExecuteAsync(
                async token =>
                {
                    // Signed per attempt: a retry carries a fresh timestamp, so receivers can keep a tight replay window.
                    using var request = Sign(new HttpRequestMessage(HttpMethod.Post, hook.Url), hook.Secret, deliveryId, eventType, body, clock.GetUtcNow().ToUnixTimeSeconds());
                    return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
                },
                cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return true;
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

        return false;
    }

    internal static HttpRequestMessage Sign(HttpRequestMessage request, byte[] secret, string deliveryId, string eventType, string body, long unixSeconds)
    {
        var timestamp = unixSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        request.Headers.Add(DeliveryHeader, deliveryId);
        request.Headers.Add(EventHeader, eventType);
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, SignatureVersion + "=" + Signature(secret, deliveryId, eventType, timestamp, body));
        return request;
    }

    /// <summary>
    /// Lower-case hex HMAC-SHA256 over "deliveryId.eventType.timestamp.body" (UTF-8), keyed with the secret's 32 raw
    /// bytes. Every header a receiver acts on is signed, as Standard Webhooks signs "id.timestamp.body": a body cannot be
    /// replayed under another delivery id (past the receiver's deduplication) nor as another event. The id (a GUID), the
    /// event (a fixed word) and the timestamp (digits) hold no dot, so the joined string is unambiguous.
    /// </summary>
    public static string Signature(byte[] secret, string deliveryId, string eventType, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{deliveryId}.{eventType}.{timestamp}.{body}")));

    /// <summary>
    /// Outer to inner: total timeout, retry, circuit breaker, attempt timeout. The breaker sits inside the retry so
    /// every attempt counts; once it opens, the retry stops (BrokenCircuitException is not retried) and no call
    /// reaches that URL for the break duration. One breaker per URL: one receiver down must not rest the others.
    /// </summary>
    private ResiliencePipeline<HttpResponseMessage> PipelineFor(string url) => pipelines.GetOrAddPipeline<HttpResponseMessage>(url, builder =>
    {
        var o = options.Value;
        var failure = new PredicateBuilder<HttpResponseMessage>()
            .Handle<HttpRequestException>(e => e.InnerException is not WebhookTargetRefusedException) // a refusal is no outage
            .Handle<TimeoutRejectedException>()
            .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
        builder.TimeProvider = clock;
        builder.AddTimeout(o.TotalTimeout);
        if (o.MaxRetryAttempts > 0) // Polly requires at least one; zero means the database backoff alone
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = failure,
                MaxRetryAttempts = o.MaxRetryAttempts,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }

        builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = failure,
                FailureRatio = o.BreakerFailureRatio,
                MinimumThroughput = o.BreakerMinimumThroughput,
                SamplingDuration = o.BreakerSamplingDuration,
                BreakDuration = o.BreakDuration,
            })
            .AddTimeout(o.AttemptTimeout);
    });
}

/// <summary>A unit's registered webhook as the dispatcher needs it.</summary>
internal sealed class Webhook
{
    public string Unit { get; init; } = "";
    public string Url { get; init; } = "";
    public byte[] Secret { get; init; } = [];
}
