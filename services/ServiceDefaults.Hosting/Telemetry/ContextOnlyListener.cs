using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace FamiljecentralHub.ServiceDefaults.Telemetry;

/// <summary>
/// With no exporter: every span of a referral's sources is created as a bare context (<see cref="ActivitySamplingResult.PropagationData"/>),
/// so that the trace id is carried onward and <see cref="TelemetryExtensions.CurrentTraceId"/> has it, and nothing is
/// recorded: instrumentation skips its tags and timings when <see cref="Activity.IsAllDataRequested"/> is false.
/// Started with the host, before the bus and the first request; stopped when the host's container is disposed.
/// </summary>
internal sealed class ContextOnlyListener : IHostedService, IDisposable
{
    private ActivityListener? listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The set is built before the listener is added, so TelemetryExtensions' static sources already exist: were they
        // created while the listener enumerated them, its ShouldListenTo would run inside their type initializer.
        HashSet<string> sources = ["Microsoft.AspNetCore", "System.Net.Http", .. TelemetryExtensions.TracedSources];
        listener ??= new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name),
            Sample = (ref _) => ActivitySamplingResult.PropagationData,
            SampleUsingParentId = (ref _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return Task.CompletedTask;
    }

    // Messages still in flight while the host stops keep their context: the listener goes only with the container.
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => listener?.Dispose();
}
