using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>The child health service with a tight per-caller limit of its own, as a token replayed past the gateway would meet it.</summary>
public sealed class RateLimitedChildHealthService : ChildHealthService
{
    public const int Burst = 3;

    protected override IReadOnlyDictionary<string, string> ExtraSettings { get; } = new Dictionary<string, string>
    {
        ["Limits:PermitsPerSecond"] = "1",
        ["Limits:Burst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Every service limits each caller itself, not only the gateway: past the burst a caller gets a bounded 429
/// ProblemDetails with Retry-After; another caller, and the anonymous health endpoints, are not held back by it.
/// </summary>
public sealed class CallerRateLimitTests(RateLimitedChildHealthService service) : IClassFixture<RateLimitedChildHealthService>
{
    private const string Unit = DemoRequests.ChildHealthUnit;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Requests_PastTheBurst_AreRefusedWith429ForThatCallerOnly()
    {
        using var flooding = service.Client("flooding-client", [Unit]);
        var path = $"/units/{Unit}/sent/{Guid.NewGuid()}";
        for (var i = 0; i < RateLimitedChildHealthService.Burst; i++)
        {
            (await flooding.GetAsync(path, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound, $"request {i + 1} is within the burst");
        }

        using var refused = await flooding.GetAsync(path, Ct);

        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(1);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Ct);
        problem.GetProperty("status").GetInt32().ShouldBe(429);
        (await refused.Content.ReadAsStringAsync(Ct)).Length.ShouldBeLessThan(1000);

        using var other = service.Client("another-client", [Unit]);
        (await other.GetAsync(path, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound, "another caller has a bucket of its own");
        using var anonymous = service.Client(null);
        for (var i = 0; i < RateLimitedChildHealthService.Burst * 3; i++)
        {
            (await anonymous.GetAsync("/health/live", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "health stays answerable");
        }
    }
}
