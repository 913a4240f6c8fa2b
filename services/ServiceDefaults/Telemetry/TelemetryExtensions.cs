using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FamiljecentralHub.ServiceDefaults.Telemetry;

/// <summary>
/// One trace from the gateway through the broker to the receiving service. ASP.NET Core, HttpClient and MassTransit
/// emit activities and meters themselves; the SDK only has to listen. The hosting integration package does not
/// restore here, so the SDK is created directly and owned (and disposed) by the host's container.
/// </summary>
public static class TelemetryExtensions
{
    public const string HubSourceName = "FamiljecentralHub";

    /// <summary>The hub's own spans (gate decisions, inbox writes). Tags carry pseudonyms and unit ids only.</summary>
    public static readonly ActivitySource Source = new(HubSourceName);

    /// <summary>The hub's own metrics: routes, purposes, outcomes. Never a subject, not even a pseudonym.</summary>
    public static readonly Meter Meter = new(HubSourceName);

    public static IHostApplicationBuilder AddHubTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var otlpEndpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var sdk = OpenTelemetrySdk.Create(otel =>
        {
            otel.ConfigureResource(r => r.AddService(serviceName));
            otel.WithTracing(t =>
            {
                t.AddSource("Microsoft.AspNetCore", "System.Net.Http", "MassTransit", "Yarp.ReverseProxy", HubSourceName);
                if (!string.IsNullOrEmpty(otlpEndpoint))
                {
                    t.AddOtlpExporter();
                }
            });
            otel.WithMetrics(m =>
            {
                m.AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "MassTransit", HubSourceName);
                if (!string.IsNullOrEmpty(otlpEndpoint))
                {
                    m.AddOtlpExporter();
                }
            });
        });
        builder.Services.AddSingleton(sdk);
        return builder;
    }

    /// <summary>The trace id of the current activity, for correlating stored rows with traces (no personal data).</summary>
    public static string? CurrentTraceId() => Activity.Current?.TraceId.ToHexString();
}
