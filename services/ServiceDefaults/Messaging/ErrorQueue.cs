using FamiljecentralHub.Topology;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// One error queue over plain AMQP, with the owning service's own broker user: the only one, besides the
/// administrator, that may read it and write to the way back out of it (<see cref="Queues.WayBackOf"/>).
/// </summary>
/// <remarks>
/// Messages are taken with basic.get and not acknowledged, so they stay the broker's: closing the channel puts back
/// every one not redriven, and a crash of this process loses none. A redriven one is acknowledged only after the broker
/// has confirmed its copy on the way back, so a failure in between leaves a duplicate, never a loss; every consumer is
/// idempotent by message id, so the duplicate changes nothing.
/// </remarks>
public sealed class ErrorQueue : IAsyncDisposable
{
    private readonly IChannel channel;

    private ErrorQueue(string queue, IChannel channel)
    {
        Queue = Queues.ErrorQueueOf(queue);
        WayBack = Queues.WayBackOf(queue);
        this.channel = channel;
    }

    /// <summary>The error queue's name, <c>&lt;queue&gt;_error</c>.</summary>
    public string Queue { get; }

    /// <summary>The exchange its messages go back through.</summary>
    public string WayBack { get; }

    /// <summary>The error queue of <paramref name="queue"/>, on a channel of its own: a queue not yet declared closes the channel it was asked on.</summary>
    public static async Task<ErrorQueue> OpenAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        // Tracking: a publish completes only once the broker has confirmed it, and throws if it was returned unrouted.
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        return new ErrorQueue(queue, channel);
    }

    /// <summary>
    /// Every message in the queue when this is called, held unacknowledged. Bounded by the count the broker gives with the
    /// first, so messages faulting into the queue meanwhile (a redriven one that faults again) are not taken twice.
    /// </summary>
    public async Task<IReadOnlyList<HeldMessage>> TakeAllAsync(CancellationToken cancellationToken)
    {
        var held = new List<HeldMessage>();
        BasicGetResult? first;
        try
        {
            first = await channel.BasicGetAsync(Queue, autoAck: false, cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            return held; // MassTransit declares the error queue with the first message it moves there: none yet
        }

        if (first is null)
        {
            return held;
        }

        held.Add(HeldMessage.From(first));
        for (var remaining = first.MessageCount; remaining > 0; remaining--)
        {
            if (await channel.BasicGetAsync(Queue, autoAck: false, cancellationToken) is not { } next)
            {
                break;
            }

            held.Add(HeldMessage.From(next));
        }

        return held;
    }

    /// <summary>Puts the message back through the way back, then lets go of the error copy.</summary>
    public async Task RedriveAsync(HeldMessage message, CancellationToken cancellationToken)
    {
        var properties = new BasicProperties(message.Properties) { Persistent = true };
        // x- headers are the broker's (a quorum queue's x-delivery-count); the new copy gets its own.
        if (properties.Headers is { } headers)
        {
            properties.Headers = headers.Where(header => !header.Key.StartsWith("x-", StringComparison.OrdinalIgnoreCase))
                .ToDictionary(header => header.Key, header => header.Value);
        }

        await channel.BasicPublishAsync(WayBack, "", mandatory: true, properties, message.Body, cancellationToken);
        await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
    }

    /// <summary>Closing the channel returns every message taken and not acknowledged to the error queue.</summary>
    public async ValueTask DisposeAsync() => await channel.DisposeAsync();
}

/// <summary>A message taken from an error queue and not yet acknowledged.</summary>
public sealed record HeldMessage(ulong DeliveryTag, IReadOnlyBasicProperties Properties, ReadOnlyMemory<byte> Body)
{
    public static HeldMessage From(BasicGetResult result) =>
        // The body is copied: the client may reuse the buffer it was read into.
        new(result.DeliveryTag, result.BasicProperties, result.Body.ToArray());
}
