using System.Diagnostics;

namespace FamiljecentralHub.ServiceDefaults.Telemetry;

/// <summary>
/// Carries the W3C trace context (<c>traceparent</c>, <c>tracestate</c>) and no baggage, in or out. The runtime's own
/// propagators take a request's <c>baggage</c> into <see cref="Activity.Baggage"/>, and MassTransit copies that into
/// every message it publishes (<c>MT-Activity-Correlation-Context</c>), from where it reaches error copies and every
/// process downstream: a client could make the hub carry whatever it wrote there, identity numbers included. The hub
/// reads nothing from baggage, so none is taken.
/// </summary>
internal sealed class TraceContextOnlyPropagator : DistributedContextPropagator
{
    public static readonly TraceContextOnlyPropagator Instance = new();

    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";

    private static readonly DistributedContextPropagator W3C = CreateW3CPropagator();

    public override IReadOnlyCollection<string> Fields { get; } = [TraceParent, TraceState];

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (activity?.Id is null || setter is null || activity.IdFormat != ActivityIdFormat.W3C)
        {
            return;
        }

        setter(carrier, TraceParent, activity.Id);
        if (!string.IsNullOrEmpty(activity.TraceStateString))
        {
            setter(carrier, TraceState, activity.TraceStateString);
        }
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        W3C.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) => null;
}
