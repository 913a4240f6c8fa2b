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
    private static readonly HashSet<string> Sources =
        ["Microsoft.AspNetCore", "System.Net.Http", .. TelemetryExtensions.TracedSources];

    private ActivityListener? listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        listener ??= new ActivityListener
        {
            ShouldListenTo = source => Sources.Contains(source.Name),
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
