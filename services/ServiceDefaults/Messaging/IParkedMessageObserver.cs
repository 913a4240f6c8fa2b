using MassTransit;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// Told of every message that has used up its retries, just before MassTransit moves it to its error queue: the moment
/// a message stops moving. A service registers one (as a singleton) to tell whoever waits for the message, e.g. the
/// receiving service tells the sender that its delivery failed (docs/error-queues.md). What it publishes must be
/// metadata only, like everything about an error copy. If it throws, the message is not moved but redelivered, and
/// told again when it faults for good again.
/// </summary>
public interface IParkedMessageObserver
{
    /// <param name="reason">The metadata-only reason (<see cref="FaultReason"/>), as the error copy carries it.</param>
    Task Parked(ExceptionReceiveContext context, string reason);
}
