using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>
/// Every service limits each caller itself, as the gateway does per client (docs/security.md, "Zero trust inside"): a
/// caller token replayed straight to a service's port meets a limit there too. Set above the gateway's, so that clients
/// going the right way meet the gateway's limit and its answer first.
/// </summary>
public sealed class CallerRateLimitOptions
{
    public const string Section = "Limits";

    /// <summary>Sustained requests per second per caller (the token's subject).</summary>
    [Range(1, 1_000_000)]
    public int PermitsPerSecond { get; set; } = 4000;

    /// <summary>How many requests a caller may send at once before the sustained rate applies.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 4000;
}

public static class CallerRateLimitExtensions
{
    // The limiter replenishes its buckets on a 100 ms timer and adds at most one period's tokens per tick.
    private static readonly TimeSpan ShortestPeriod = TimeSpan.FromMilliseconds(100);

    public static WebApplicationBuilder AddCallerRateLimit(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallerRateLimitOptions>().BindConfiguration(CallerRateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<CallerRateLimitOptions>>((rateLimiter, limits) =>
        {
            rateLimiter.GlobalLimiter = PerCallerTokenBucket(limits.Value);
            rateLimiter.OnRejected = static (rejected, _) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return new ValueTask(TypedResults.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many requests",
                    detail: "This caller has sent more requests than the service takes; try again after the time in Retry-After.")
                    .ExecuteAsync(rejected.HttpContext));
            };
        });
        return builder;
    }

    /// <summary>After authentication: the partition is the authenticated caller.</summary>
    public static IApplicationBuilder UseCallerRateLimit(this IApplicationBuilder app) => app.UseRateLimiter();

    private static PartitionedRateLimiter<HttpContext> PerCallerTokenBucket(CallerRateLimitOptions limits)
    {
        var tokensPerPeriod = Math.Max(1, (int)Math.Ceiling(limits.PermitsPerSecond * ShortestPeriod.TotalSeconds));
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.Burst,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)tokensPerPeriod / limits.PermitsPerSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        };

        // Requests without a valid caller token are refused by authorisation at once (health and metrics are the
        // anonymous ones, and must stay answerable under load); only a caller's own requests count against it.
        return PartitionedRateLimiter.Create<HttpContext, string>(context =>
            context.User.FindFirst(CallerTokenDefaults.SubjectClaim)?.Value is { Length: > 0 } caller
                ? RateLimitPartition.GetTokenBucketLimiter(caller, _ => bucket)
                : RateLimitPartition.GetNoLimiter(string.Empty));
    }
}
