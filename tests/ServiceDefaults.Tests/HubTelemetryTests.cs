using System.Diagnostics;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>
/// Spans are recorded only for an exporter that takes them; without one each hop still carries the trace context
/// onward (the receiver's inbox row keeps the trace id), but records nothing: tags and timings that go nowhere were a
/// measurable part of a referral's CPU (docs/benchmarks.md).
/// </summary>
public sealed class HubTelemetryTests
{
    [Fact]
    public async Task NoExporter_ASpanKeepsItsCallersTrace_ButIsNotRecorded()
    {
        using var host = await StartAsync(otlpEndpoint: null);
        // As a request's traceparent or a message's headers bring it: from another process.
        var caller = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);

        using var span = TelemetryExtensions.Source.StartActivity("consume", ActivityKind.Consumer, caller);
        using var inner = TelemetryExtensions.Source.StartActivity("gate decision");

        span.ShouldNotBeNull("without a span there is no context to carry onward");
        span.TraceId.ShouldBe(caller.TraceId);
        span.IsAllDataRequested.ShouldBeFalse();
        span.Recorded.ShouldBeFalse();
        TelemetryExtensions.CurrentTraceId().ShouldBe(caller.TraceId.ToHexString(), "what the inbox row keeps");
    }

    [Fact]
    public async Task OtlpExporterConfigured_SpansAreRecorded()
    {
        using var host = await StartAsync(otlpEndpoint: "http://127.0.0.1:9");

        using var span = TelemetryExtensions.Source.StartActivity("gate decision", ActivityKind.Consumer);

        span.ShouldNotBeNull();
        span.IsAllDataRequested.ShouldBeTrue();
        span.Recorded.ShouldBeTrue();
    }

    private static async Task<IHost> StartAsync(string? otlpEndpoint)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint });
        builder.AddHubTelemetry("telemetry-test");
        var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }
}
