using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Topology;
using MassTransit;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>Sending through the hub's boundary (<see cref="Queues"/>) with MassTransit.</summary>
public static class QueueSending
{
    /// <summary>
    /// Sends to a delivery queue through the one exchange bound in front of it (only the gate may write to it) and
    /// completes only when the broker has confirmed that a queue holds the message.
    /// </summary>
    public static Task SendToQueue<T>(this ISendEndpointProvider provider, string queue, T message, Guid? messageId = null, CancellationToken cancellationToken = default)
        where T : class
    {
        var exchanges = Queues.BoundaryBindings.Where(binding => binding.Queue == queue).Select(binding => binding.Exchange).ToList();
        if (exchanges.Count != 1)
        {
            throw new ArgumentException(
                $"'{queue}' is not a queue with a single way in; submissions to the gate go through {nameof(SubmitToGate)}.", nameof(queue));
        }

        return SendThroughAsync(provider, exchanges[0], message, messageId, cancellationToken);
    }

    /// <summary>
    /// Submits to the gate through <paramref name="fromService"/>'s own submission exchange; completes only when the
    /// broker has confirmed that the gate's queue holds the message.
    /// </summary>
    public static Task SubmitToGate(this ISendEndpointProvider provider, string fromService, SubmitDisclosure message, CancellationToken cancellationToken = default) =>
        SendThroughAsync(provider, Queues.SubmissionExchangeOf(fromService), message, message.MessageId, cancellationToken);

    /// <summary>
    /// To the exchange, not the queue: a sender must not declare the queue (it is the deployment's, and a sender with
    /// the rights to declare it could delete it), and with the mandatory flag a message that no queue takes is returned
    /// as an error instead of silently dropped.
    /// </summary>
    private static async Task SendThroughAsync<T>(ISendEndpointProvider provider, string exchange, T message, Guid? messageId, CancellationToken cancellationToken)
        where T : class
    {
        var endpoint = await provider.GetSendEndpoint(new Uri($"exchange:{exchange}"));
        await endpoint.Send(message, context =>
        {
            if (messageId is { } id)
            {
                context.MessageId = id;
            }

            if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            {
                rabbit.Mandatory = true;
            }
        }, cancellationToken);
    }
}
