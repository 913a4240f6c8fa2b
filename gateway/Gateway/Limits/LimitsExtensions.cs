using System.Globalization;
using System.Threading.RateLimiting;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.Gateway.Problems;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.Limits;

internal static class LimitsExtensions
{
    // PartitionedRateLimiter replenishes its buckets on a 100 ms timer, and a token bucket adds at most one
    // period's tokens per tick: a shorter period would silently lower the rate.
    private static readonly TimeSpan ShortestPeriod = TimeSpan.FromMilliseconds(100);

    public static WebApplicationBuilder AddRequestLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>()
            .Configure<IOptions<GatewayOptions>>((rateLimiter, gateway) =>
            {
                var limits = gateway.Value.Limits;
                // The places first: the middleware tries without waiting before it waits, and a token taken by a try
                // that then found no place would be spent twice.
                var rate = PerClientTokenBucket(limits.PermitsPerSecond, limits.Burst);
                rateLimiter.GlobalLimiter = limits.InFlightPerClient == 0
                    ? rate
                    : PartitionedRateLimiter.CreateChained(PerClientInFlight(limits.InFlightPerClient, limits.QueuedPerClient), rate);
                rateLimiter.OnRejected = static (rejected, _) =>
                {
                    var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                    rejected.HttpContext.Response.Headers.RetryAfter =
                        Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                    return new ValueTask(GatewayProblems.TooManyRequests(rejected.HttpContext));
                };
            });
        return builder;
    }

    /// <summary>Per-client rate limit, then the body size limit; both after the client is identified.</summary>
    public static IApplicationBuilder UseRequestLimits(this IApplicationBuilder app)
    {
        app.UseRateLimiter();
        var maxBodyBytes = app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.Limits.MaxRequestBodyBytes;

        // Kestrel enforces the same limit while the body streams, which catches chunked bodies; a declared length
        // over the limit is refused here before a single byte is forwarded.
        return app.Use((context, next) =>
            context.Request.ContentLength > maxBodyBytes ? GatewayProblems.PayloadTooLarge(context) : next(context));
    }

    /// <summary>
    /// Per-client requests in flight (<see cref="GatewayLimitsOptions.InFlightPerClient"/>): the middleware holds the lease
    /// until the response is sent, so a client's slow requests take only its own places, never another client's.
    /// </summary>
    private static PartitionedRateLimiter<HttpContext> PerClientInFlight(int inFlight, int queued)
    {
        var places = new ConcurrencyLimiterOptions { PermitLimit = inFlight, QueueLimit = queued, QueueProcessingOrder = QueueProcessingOrder.OldestFirst };
        // An inbox listing that waits for its first message (`wait=`) is a long poll of up to 20 s: fewer places of its
        // own, so that a receiving system's waiting listings never hold up its acknowledgements, and together still
        // below the pool (the validator). Only a bodiless GET of an inbox: any other request naming `wait` is a request.
        var waiting = new ConcurrencyLimiterOptions { PermitLimit = WaitingPlaces(inFlight), QueueLimit = inFlight, QueueProcessingOrder = QueueProcessingOrder.OldestFirst };
        return PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            var client = context.GetGatewayClient()?.Id ?? string.Empty;
            return IsWaitingListing(context.Request)
                ? RateLimitPartition.GetConcurrencyLimiter(client + " waiting", _ => waiting)
                : RateLimitPartition.GetConcurrencyLimiter(client, _ => places);
        });
    }

    /// <summary>The places a client's waiting inbox listings have beside its <paramref name="inFlight"/>.</summary>
    internal static int WaitingPlaces(int inFlight) => Math.Max(1, inFlight / 2);

    private static bool IsWaitingListing(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && request.Query.ContainsKey("wait")
        && request.Path.Value?.TrimEnd('/').EndsWith("/inbox", StringComparison.Ordinal) == true
        && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false;

    private static PartitionedRateLimiter<HttpContext> PerClientTokenBucket(int permitsPerSecond, int burst)
    {
        var tokensPerPeriod = Math.Max(1, (int)Math.Ceiling(permitsPerSecond * ShortestPeriod.TotalSeconds));
        var period = TimeSpan.FromSeconds((double)tokensPerPeriod / permitsPerSecond);
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        };

        return PartitionedRateLimiter.Create<HttpContext, string>(context =>
            RateLimitPartition.GetTokenBucketLimiter(context.GetGatewayClient()?.Id ?? string.Empty, _ => bucket));
    }
}
