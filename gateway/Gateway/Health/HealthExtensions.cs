using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.Gateway.Problems;
using FamiljecentralHub.ServiceDefaults.Health;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.Health;

internal static class HealthExtensions
{
    public static WebApplicationBuilder AddGatewayHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>
    /// Branches requests that arrive on the plain-HTTP health port away from everything else: that port serves
    /// /health/live, /health/ready and the gateway's own /metrics and nothing else, so it can never become a way around
    /// client certificates.
    /// </summary>
    public static WebApplication UseGatewayHealth(this WebApplication app)
    {
        var healthPort = new Uri(app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.HealthUrl!).Port;
        app.MapWhen(context => context.Connection.LocalPort == healthPort, health =>
        {
            // Live means "the process answers"; ready runs every registered check.
            health.UseHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync });
            health.UseHealthChecks("/health/ready", new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
            health.UseOpenTelemetryPrometheusScrapingEndpoint();
            health.Run(GatewayProblems.NotFound);
        });
        return app;
    }
}
