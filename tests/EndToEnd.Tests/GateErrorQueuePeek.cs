using System.Globalization;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Tests.Support;
using FamiljecentralHub.Topology;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>A message in the gate's error queue as the broker holds it: the transport message id and the headers.</summary>
public sealed record ParkedMessage(Guid MessageId, IReadOnlyDictionary<string, string?> Headers, IReadOnlyBasicProperties Properties, byte[] Body)
{
    /// <summary>Headers whose name is <paramref name="name"/> in any case: AMQP names are case-sensitive, so there may be several.</summary>
    public IReadOnlyList<string?> HeadersNamed(string name) =>
        Headers.Where(header => string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase)).Select(header => header.Value).ToList();
}

/// <summary>
/// Looks into the gate's error queue with the gate's own credentials, the way the errors command does: basic.get
/// without acknowledging, then closing the channel, which puts every message back.
/// </summary>
internal static class GateErrorQueuePeek
{
    public static readonly string Queue = Queues.ErrorQueueOf(Queues.Gate);

    public static async Task<IReadOnlyList<ParkedMessage>> AllAsync(Hub hub, CancellationToken cancellationToken)
    {
        await using var connection = await RawAmqp.ConnectAsync(hub, "consent", cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var parked = new List<ParkedMessage>();
        try
        {
            while (await channel.BasicGetAsync(Queue, autoAck: false, cancellationToken) is { } message)
            {
                parked.Add(new ParkedMessage(
                    Guid.Parse(message.BasicProperties.MessageId!),
                    (message.BasicProperties.Headers ?? new Dictionary<string, object?>()).ToDictionary(h => h.Key, h => h.Value is int or long ? Convert.ToString(h.Value, CultureInfo.InvariantCulture) : WayIn.AsText(h.Value)),
                    new BasicProperties(message.BasicProperties),
                    message.Body.ToArray()));
            }
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            // MassTransit declares the error queue when it first moves a message there.
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason is { ReplyCode: Constants.InternalError } reason && reason.ReplyText.Contains("noproc", StringComparison.Ordinal))
        {
            // Just declared, the quorum queue's process may not run yet on a busy node: nothing can be parked in it so far.
        }

        return parked;
    }

    public static async Task<ParkedMessage?> FindAsync(Hub hub, Guid messageId, CancellationToken cancellationToken) =>
        (await AllAsync(hub, cancellationToken)).FirstOrDefault(message => message.MessageId == messageId);

    /// <summary>Waits until the message is in the error queue: its retries take about 18 s, and a redriven poison as long again.</summary>
    public static async Task<ParkedMessage> WaitUntilParkedAsync(Hub hub, Guid messageId, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        (await Eventually.MatchAsync(
            () => AllAsync(hub, cancellationToken), parked => parked.Any(message => message.MessageId == messageId), timeout ?? TimeSpan.FromSeconds(90),
            last => $"message {messageId} did not reach {Queue}; it held {last?.Count ?? 0} others", TimeSpan.FromMilliseconds(500), cancellationToken))
        .First(message => message.MessageId == messageId);
}
