using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>What the platform that runs a service reads on the service's own port: health as JSON, metrics for Prometheus.</summary>
public sealed class ServiceEndpointsTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_OnTheServicePort_NamesEachDependencyAndItsState()
    {
        // Over TLS without a client certificate: health and metrics are for probes that have none.
        using var direct = hub.Direct("consent");

        var response = await direct.GetAsync("/health/ready", Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var health = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        health.GetProperty("status").GetString().ShouldBe("Healthy");
        var checks = health.GetProperty("checks");
        checks.GetProperty("database").GetProperty("status").GetString().ShouldBe("Healthy");
        checks.EnumerateObject().Select(c => c.Name).ShouldContain(name => name.Contains("masstransit", StringComparison.OrdinalIgnoreCase), "the broker connection is a dependency too");
    }

    [Fact]
    public async Task Metrics_AfterAReferral_CountTheGatesDecisionsWithoutAnySubject()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        var status = (await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("statusUrl").GetString()!;
        await HubFixture.WaitForStatusAsync(bvc, status, "Refused");
        // Over TLS without a client certificate: health and metrics are for probes that have none.
        using var direct = hub.Direct("consent");

        var metrics = await direct.GetStringAsync("/metrics", Ct);

        metrics.ShouldContain("hub_gate_decisions");
        metrics.ShouldContain("http_server_request_duration_seconds");
        metrics.ShouldContain("db_client_", customMessage: "Npgsql's meters, which AddHubDatabase adds to the telemetry");
        metrics.ShouldNotContain(subject);
    }
}
