using FamiljecentralHub.ServiceDefaults.Messaging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.Consent.Features.ErrorQueue;

/// <summary>
/// The gate's error queue over plain AMQP, with the consent service's own broker user: the only one, besides the
/// administrator, that may read <c>consent-gate_error</c> and write to <c>redrive.consent-gate</c>.
/// </summary>
/// <remarks>
/// Messages are taken with basic.get and not acknowledged, so they stay the broker's: closing the channel puts back
/// every one not redriven, and a crash of this process loses none. A redriven one is acknowledged only after the broker
/// has confirmed its copy on the way back in, so a failure in between leaves a duplicate, never a loss; the gate
/// decides by message id, so the duplicate changes nothing.
/// </remarks>
internal sealed class GateErrorQueue : IAsyncDisposable
{
    public static readonly string Queue = Queues.ErrorQueueOf(Queues.Gate);
    public static readonly string RedriveExchange = Queues.RedriveExchangeOf(Queues.Gate);

    private readonly IConnection connection;
    private readonly IChannel channel;

    private GateErrorQueue(IConnection connection, IChannel channel)
    {
        this.connection = connection;
        this.channel = channel;
    }

    public static async Task<GateErrorQueue> OpenAsync(RabbitMqOptions options, CancellationToken cancellationToken)
    {
        var connection = await options.ConnectAsync("consent errors command", cancellationToken);
        try
        {
            // Tracking: a publish completes only once the broker has confirmed it, and throws if it was returned unrouted.
            var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            return new GateErrorQueue(connection, channel);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
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

    /// <summary>Puts the message back into the gate's queue through the redrive exchange, then lets go of the error copy.</summary>
    public async Task RedriveAsync(HeldMessage message, CancellationToken cancellationToken)
    {
        var properties = new BasicProperties(message.Properties) { Persistent = true };
        // x- headers are the broker's (a quorum queue's x-delivery-count); the new copy gets its own.
        if (properties.Headers is { } headers)
        {
            properties.Headers = headers.Where(header => !header.Key.StartsWith("x-", StringComparison.OrdinalIgnoreCase))
                .ToDictionary(header => header.Key, header => header.Value);
        }

        await channel.BasicPublishAsync(RedriveExchange, "", mandatory: true, properties, message.Body, cancellationToken);
        await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        // Closing the channel returns every message taken and not acknowledged to the error queue.
        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }
}

/// <summary>A message taken from the error queue and not yet acknowledged.</summary>
internal sealed record HeldMessage(ulong DeliveryTag, IReadOnlyBasicProperties Properties, ReadOnlyMemory<byte> Body)
{
    public static HeldMessage From(BasicGetResult result) =>
        // The body is copied: the client may reuse the buffer it was read into.
        new(result.DeliveryTag, result.BasicProperties, result.Body.ToArray());
}
