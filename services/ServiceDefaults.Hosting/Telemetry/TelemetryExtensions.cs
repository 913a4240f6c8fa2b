using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FamiljecentralHub.ServiceDefaults.Telemetry;

/// <summary>
/// One trace from the gateway through the broker to the receiving service, and every service's metrics. ASP.NET Core,
/// HttpClient and MassTransit emit activities and meters themselves; the instrumentation packages listen. Npgsql's are
/// added by AddHubDatabase, beside the database: the gateway has none and does not carry the package.
/// Metrics go to the Prometheus endpoint (<see cref="MapMetrics"/>), and both metrics and traces to OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured.
/// </summary>
public static class TelemetryExtensions
{
    public const string HubSourceName = "FamiljecentralHub";

    /// <summary>The hub's own spans (gate decisions, inbox writes). Tags carry pseudonyms and unit ids only.</summary>
    public static readonly ActivitySource Source = new(HubSourceName);

    /// <summary>The hub's own metrics: routes, purposes, outcomes. Never a subject, not even a pseudonym.</summary>
    public static readonly Meter Meter = new(HubSourceName);

    /// <summary>Where the spans of one referral come from, besides ASP.NET Core's and HttpClient's (added by their instrumentation).</summary>
    internal static readonly string[] TracedSources = ["MassTransit", "Yarp.ReverseProxy", HubSourceName];

    public static IHostApplicationBuilder AddHubTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // Trace context only, no baggage: for requests (ASP.NET Core takes the propagator from the container, where the
        // web host put the runtime's default first) and for outgoing calls (HttpClient and YARP use the process-wide one).
        DistributedContextPropagator.Current = TraceContextOnlyPropagator.Instance;
        builder.Services.RemoveAll<DistributedContextPropagator>();
        builder.Services.AddSingleton<DistributedContextPropagator>(TraceContextOnlyPropagator.Instance);
        var otel = builder.Services.AddOpenTelemetry().ConfigureResource(r => r.AddService(serviceName));
        otel.WithMetrics(m =>
        {
            m.AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("MassTransit", HubSourceName)
                .AddPrometheusExporter();
            if (otlp)
            {
                m.AddOtlpExporter();
            }
        });
        // Spans are recorded only for an exporter that takes them: tags and timings that go nowhere cost CPU on every hop
        // (docs/benchmarks.md). Without one, spans are still created, as bare contexts, so that the trace context flows
        // from the client's traceparent through the gateway, the broker and the gate to the receiver's inbox row, which
        // gives receivers the id to correlate with (ReferralFlowTests). OpenTelemetry's own sampler cannot do that: a
        // dropped span has no local children, so each hop would start a trace of its own.
        if (otlp)
        {
            // OpenTelemetry's instrumentation propagates with its own propagator, which carries baggage by default.
            OpenTelemetry.Sdk.SetDefaultTextMapPropagator(new TraceParentOnlyTextMapPropagator());
            otel.WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.EnrichWithHttpResponse = RouteInsteadOfPath)
                .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, _) => activity.SetTag("url.full", null))
                .AddSource(TracedSources)
                .AddOtlpExporter());
        }
        else
        {
            builder.Services.AddHostedService<ContextOnlyListener>();
        }
        return builder;
    }

    /// <summary>
    /// Prometheus' scrape endpoint, <c>/metrics</c>. Anonymous on the service's own port, which only the gateway and the
    /// platform reach; the gateway never forwards it (it serves its own on its loopback health port).
    /// </summary>
    public static IEndpointConventionBuilder MapMetrics(this IEndpointRouteBuilder app) => app.MapPrometheusScrapingEndpoint();

    /// <summary>The trace id of the current activity, for correlating stored rows with traces (no personal data).</summary>
    public static string? CurrentTraceId() => Activity.Current?.TraceId.ToHexString();

    // A path can hold whatever a client put in it (an identity number in place of a unit id, say); the route template
    // says as much about the request and nothing about a person. Outgoing URLs (webhooks) are the receiver's secrets.
    private static void RouteInsteadOfPath(Activity activity, HttpResponse response) =>
        activity.SetTag("url.path", (response.HttpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)");
}
