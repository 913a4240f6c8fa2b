using System.Net;
using System.Text;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>A hub whose every process runs in Development, as 'run' once did by default.</summary>
public sealed class DevelopmentHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, EnvironmentName = "Development" });

/// <summary>
/// Even in Development a malformed body is a bare 400 ProblemDetails: the developer exception page (a 500 with the
/// stack trace on the demo hub, issue 10 finding 5) never answers a client.
/// </summary>
public sealed class DevelopmentEnvironmentTests(DevelopmentHubFixture hub) : IClassFixture<DevelopmentHubFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("""{"receivingUnit":{"a":1}}""")]
    [InlineData("""{"categories":"FamilySituation"}""")]
    [InlineData("null")]
    [InlineData("""{"receivingUnit":""")]
    public async Task Referral_WrongTypedBody_Gets400ProblemWithoutStackTrace(string body)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var response = await bvc.PostAsync(DemoRequests.ReferralPath, new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        await InputHygieneTests.ShouldBeBoundedProblemAsync(response, HttpStatusCode.BadRequest);
    }
}
