using System.Net;
using FamiljecentralHub.Gateway.Tests.Fixtures;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>
/// Ops runs as two instances of which the first has crashed (see <see cref="GatewayFixture"/>). This class has a
/// gateway of its own, so its test starts while the crashed instance is still in the rotation: no probe has taken it
/// out yet, and nothing else has sent a request its way.
/// </summary>
public sealed class InstanceFailoverTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Forward_OneOfTwoInstancesDown_EveryRequestReachesTheLiveOneWithItsBody()
    {
        using var client = fixture.CreateClient("ops-console");

        for (var attempt = 1; attempt <= 20; attempt++)
        {
            var testId = Guid.NewGuid().ToString("N");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/ops/api/error-queue/redrive");
            request.Headers.Add(EchoBackend.TestIdHeader, testId);
            request.Content = new StringContent(new string('x', 1000 + attempt));

            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"request {attempt}\n{fixture.GatewayOutput}");
            fixture.Backend.Find(testId).ShouldNotBeNull().BodyLength.ShouldBe(1000 + attempt);
        }
    }
}
