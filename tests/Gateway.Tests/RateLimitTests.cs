using System.Net;
using System.Text.Json;
using FamiljecentralHub.Gateway.Tests.Fixtures;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class RateLimitedGatewayFixture : GatewayFixture
{
    protected override void Configure(IDictionary<string, string> environment)
    {
        environment["Gateway__Limits__PermitsPerSecond"] = "1";
        environment["Gateway__Limits__Burst"] = "3";
    }
}

public sealed class RateLimitTests(RateLimitedGatewayFixture fixture) : IClassFixture<RateLimitedGatewayFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Forward_ClientOverItsRate_Returns429ProblemWithRetryAfterWhileOtherClientsPass()
    {
        using var noisy = fixture.CreateClient("bvc-ehr");
        using var quiet = fixture.CreateClient("socialtjanst-system");

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 6 && refused is null; i++)
        {
            var response = await noisy.GetAsync("/consent/api/consents", Cancellation);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                response.Dispose();
            }
        }

        using (refused.ShouldNotBeNull($"statuses: {string.Join(", ", statuses)}"))
        {
            statuses.Count(status => status == HttpStatusCode.OK).ShouldBeGreaterThanOrEqualTo(3);
            refused.Headers.RetryAfter.ShouldNotBeNull().Delta.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
            refused.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(Cancellation));
            problem.RootElement.GetProperty("status").GetInt32().ShouldBe(429);
        }

        using var other = await quiet.GetAsync("/consent/api/consents", Cancellation);
        other.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
