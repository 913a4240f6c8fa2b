using MassTransit;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// Runs when a message has used up its retries, just before MassTransit moves it to its queue's error queue, and adds
/// what the hub needs to list and redrive it (docs/error-queues.md): the way it came in (<see cref="WayIn"/>), the routing
/// key it came with (<see cref="StatusEventOrigin"/>), and a
/// reason that cannot carry personal data (<see cref="FaultReason"/>), which also replaces MassTransit's own
/// MT-Fault-Message (the exception's message, which may quote the message's data). Then it tells the service's
/// <see cref="IParkedMessageObserver"/>s that the message stops here.
/// </summary>
/// <remarks>
/// The error copy keeps every header the sender wrote, and AMQP header names are case-sensitive: MassTransit's and these
/// headers overwrite a sender's header of exactly the same name, not "hub-way-in" or "mt-fault-retrycount". So every
/// Hub-* and MT-Fault-* header the sender wrote is removed first, in whatever case; those on the error copy are then the
/// ones written here and by MassTransit at fault time, and the owner of the error queue may rely on them.
/// </remarks>
public sealed class ErrorCopyFilter(IReadOnlyList<IParkedMessageObserver> observers) : IFilter<ExceptionReceiveContext>
{
    private static readonly string[] FaultTimePrefixes = ["Hub-", "MT-Fault-"];

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        // First: a redriven message's way in is its stamp, which is removed below with the rest and then written again.
        var wayIn = WayIn.Of(context);
        var routingKey = StatusEventOrigin.RoutingKeyOf(context);
        RemoveFaultTimeHeadersFromTheSender(context);

        if (wayIn is not null)
        {
            context.ExceptionHeaders.Set(WayIn.Header, wayIn);
        }

        // A lifecycle event's key names its publisher; redriven, it comes back under another key (StatusEventOrigin).
        if (!string.IsNullOrEmpty(routingKey))
        {
            context.ExceptionHeaders.Set(StatusEventOrigin.RoutingKeyHeader, routingKey);
        }

        var reason = FaultReason.Describe(context.Exception);
        context.ExceptionHeaders.Set(FaultReason.Header, reason);
        context.ExceptionHeaders.Set(MessageHeaders.FaultMessage, reason);

        foreach (var observer in observers)
        {
            await observer.Parked(context, reason);
        }

        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("errorCopy");

    private static void RemoveFaultTimeHeadersFromTheSender(ExceptionReceiveContext context)
    {
        // The move to the error queue copies these very properties; the delivery is settled with the move, so nothing
        // else reads them afterwards.
        if (!context.TryGetPayload(out RabbitMqBasicConsumeContext? rabbit) || rabbit.Properties.Headers is not { } headers)
        {
            return;
        }

        foreach (var name in headers.Keys.Where(IsFaultTimeHeader).ToList())
        {
            headers.Remove(name);
        }
    }

    private static bool IsFaultTimeHeader(string name) =>
        FaultTimePrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));
}
