using System.Diagnostics;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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

    [Fact]
    public async Task ARequestsBaggageAndTraceState_AreNotTaken_ItsTraceParentIs()
    {
        using var host = await StartAsync(otlpEndpoint: null);
        var traceparent = $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
        var headers = new Dictionary<string, string>
        {
            ["traceparent"] = traceparent,
            ["tracestate"] = "vendor=value",
            ["baggage"] = "nin=191212121212",
            ["Correlation-Context"] = "nin=191212121212",
        };

        foreach (var propagator in new[] { host.Services.GetRequiredService<DistributedContextPropagator>(), DistributedContextPropagator.Current })
        {
            propagator.ExtractTraceIdAndState(headers, Get, out var traceId, out var traceState);
            traceId.ShouldBe(traceparent);
            traceState.ShouldBeNull("a client's tracestate is free text that every span would carry on");
            (propagator.ExtractBaggage(headers, Get) ?? []).ShouldBeEmpty("a client's baggage would ride in every message MassTransit publishes");

            using var activity = new Activity("outgoing").SetParentId(traceparent).AddBaggage("nin", "191212121212");
            activity.TraceStateString = "nin=191212121212";
            activity.Start();
            var injected = new Dictionary<string, string>();
            propagator.Inject(activity, injected, (carrier, name, value) => ((Dictionary<string, string>)carrier!)[name] = value);
            injected.Keys.ShouldBe(["traceparent"]);
        }

        static void Get(object? carrier, string name, out string? value, out IEnumerable<string>? values)
        {
            values = null;
            ((Dictionary<string, string>)carrier!).TryGetValue(name, out value);
        }
    }

    [Fact]
    public async Task Exporting_OpenTelemetrysPropagator_TakesTheTraceParentOnly()
    {
        using var host = await StartAsync(otlpEndpoint: "http://127.0.0.1:9");
        var traceId = ActivityTraceId.CreateRandom();
        var headers = new Dictionary<string, string>
        {
            ["traceparent"] = $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01",
            ["tracestate"] = "nin=191212121212",
            ["baggage"] = "nin=191212121212",
        };
        var propagator = OpenTelemetry.Context.Propagation.Propagators.DefaultTextMapPropagator;

        var extracted = propagator.Extract(default, headers, (carrier, name) => carrier.TryGetValue(name, out var value) ? [value] : []);
        var injected = new Dictionary<string, string>();
        propagator.Inject(
            new OpenTelemetry.Context.Propagation.PropagationContext(
                new ActivityContext(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "nin=191212121212"),
                OpenTelemetry.Baggage.Create(new Dictionary<string, string> { ["nin"] = "191212121212" })),
            injected, (carrier, name, value) => carrier[name] = value);

        extracted.ActivityContext.TraceId.ShouldBe(traceId);
        extracted.ActivityContext.TraceState.ShouldBeNull();
        extracted.Baggage.Count.ShouldBe(0);
        injected.Keys.ShouldBe(["traceparent"]);
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
