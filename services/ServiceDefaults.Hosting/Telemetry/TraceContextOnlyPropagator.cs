using System.Diagnostics;

namespace FamiljecentralHub.ServiceDefaults.Telemetry;

/// <summary>
/// Carries the W3C <c>traceparent</c> only: no <c>tracestate</c> and no baggage, in or out. The runtime's own
/// propagators take a request's <c>baggage</c> into <see cref="Activity.Baggage"/>, and MassTransit copies that into
/// every message it publishes (<c>MT-Activity-Correlation-Context</c>), from where it reaches error copies and every
/// process downstream: a client could make the hub carry whatever it wrote there, identity numbers included. The hub
/// reads nothing from baggage, so none is taken. Nor from <c>tracestate</c>, which is free text for tracing vendors' own
/// use that every span would carry on, and export.
/// </summary>
internal sealed class TraceContextOnlyPropagator : DistributedContextPropagator
{
    public static readonly TraceContextOnlyPropagator Instance = new();

    private const string TraceParent = "traceparent";

    private static readonly DistributedContextPropagator W3C = CreateW3CPropagator();

    public override IReadOnlyCollection<string> Fields { get; } = [TraceParent];

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (activity?.Id is null || setter is null || activity.IdFormat != ActivityIdFormat.W3C)
        {
            return;
        }

        setter(carrier, TraceParent, activity.Id);
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        W3C.ExtractTraceIdAndState(carrier, getter, out traceId, out _);
        traceState = null;
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) => null;
}

/// <summary>
/// OpenTelemetry's instrumentation propagates with its own propagator (when the hub exports): the W3C trace context, as
/// <see cref="TraceContextOnlyPropagator"/> does, without its <c>tracestate</c>.
/// </summary>
internal sealed class TraceParentOnlyTextMapPropagator : OpenTelemetry.Context.Propagation.TextMapPropagator
{
    private static readonly OpenTelemetry.Context.Propagation.TraceContextPropagator W3C = new();

    public override ISet<string> Fields { get; } = new HashSet<string> { "traceparent" };

    public override OpenTelemetry.Context.Propagation.PropagationContext Extract<T>(
        OpenTelemetry.Context.Propagation.PropagationContext context, T carrier, Func<T, string, IEnumerable<string>?> getter) =>
        WithoutState(W3C.Extract(context, carrier, getter));

    public override void Inject<T>(OpenTelemetry.Context.Propagation.PropagationContext context, T carrier, Action<T, string, string> setter) =>
        W3C.Inject(WithoutState(context), carrier, setter);

    private static OpenTelemetry.Context.Propagation.PropagationContext WithoutState(OpenTelemetry.Context.Propagation.PropagationContext context) =>
        new(new ActivityContext(context.ActivityContext.TraceId, context.ActivityContext.SpanId, context.ActivityContext.TraceFlags,
                traceState: null, isRemote: context.ActivityContext.IsRemote), default);
}
