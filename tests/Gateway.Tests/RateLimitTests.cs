using System.Diagnostics;
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

public sealed class SharedPoolGatewayFixture : GatewayFixture
{
    protected override void Configure(IDictionary<string, string> environment)
    {
        environment["Gateway__Limits__ConnectionsPerInstance"] = "4";
        environment["Gateway__Limits__InFlightPerClient"] = "2";
    }
}

public sealed class InFlightLimitTests(SharedPoolGatewayFixture fixture) : IClassFixture<SharedPoolGatewayFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>
    /// One client trickling request bodies holds only its own share of the connections to a service; another client's
    /// request goes through at once. Before, the trickled uploads held every connection of the service's pool, and every
    /// other client's request to it waited until the server gave up on them; and then, uploads naming `wait` took the
    /// places kept for waiting inbox listings too, and again the whole pool.
    /// </summary>
    [Fact]
    public async Task Forward_OneClientsTrickledUploads_DoNotHoldUpAnotherClient()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        using var slow = fixture.CreateClient("bvc-ehr");
        using var other = fixture.CreateClient("socialtjanst-system");
        // Half of them naming `wait`, as a waiting inbox listing does: that does not make them one, nor earn more places.
        var uploads = Enumerable.Range(0, 6)
            .Select(i => slow.PostAsync(i % 2 == 0 ? "/consent/api/consents" : "/consent/api/inbox?wait=5", new TrickledContent(stop.Token), stop.Token))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(1), Cancellation);

        var watch = Stopwatch.StartNew();
        using var response = await other.GetAsync("/consent/api/consents", Cancellation);
        var waited = watch.Elapsed;
        await stop.CancelAsync();
        foreach (var upload in uploads)
        {
            try
            {
                (await upload).Dispose();
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
            {
                // Broken off by the test, or by the gateway's minimum upload rate.
            }
        }

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        waited.ShouldBeLessThan(TimeSpan.FromSeconds(2), "another client's uploads held the service's connections");
    }

    /// <summary>A body that sends its first byte and then nothing until the test stops it.</summary>
    private sealed class TrickledContent(CancellationToken stop) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("{"u8.ToArray(), stop);
            await stream.FlushAsync(stop);
            await Task.Delay(Timeout.Infinite, stop);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 1000;
            return true;
        }
    }
}
