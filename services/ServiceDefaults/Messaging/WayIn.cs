using System.Text;
using FamiljecentralHub.Topology;
using MassTransit;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// The exchange a message came into its queue through. The broker reports it with every delivery, and the broker's
/// permissions say who may write to each exchange, so it names the sender in a way the sender cannot forge. A message
/// taken from an error queue and redriven arrives through the queue's redrive exchange instead; its way in is then the
/// one stamped on its error copy when it faulted (<see cref="ErrorCopyFilter"/>), which only the queue's owner can
/// have written: only it may write to its error queue and to its redrive exchange (docs/error-queues.md).
/// </summary>
public static class WayIn
{
    /// <summary>The header on an error copy that names the exchange the message had first come in through.</summary>
    public const string Header = "Hub-Way-In";

    /// <summary>
    /// The way in of the message being received; null when it did not come over RabbitMQ, or came back through a
    /// redrive exchange without exactly one stamp to say where it had first come in.
    /// </summary>
    public static string? Of(ReceiveContext context)
    {
        if (!context.TryGetPayload(out RabbitMqBasicConsumeContext? rabbit))
        {
            return null;
        }

        return Queues.IsRedriveExchange(rabbit.Exchange) ? StampedOn(rabbit.Properties.Headers) : rabbit.Exchange;
    }

    /// <summary>Whether the message being received came back through its queue's redrive exchange.</summary>
    public static bool IsRedriven(ReceiveContext context) =>
        context.TryGetPayload(out RabbitMqBasicConsumeContext? rabbit) && Queues.IsRedriveExchange(rabbit.Exchange);

    /// <summary>
    /// The stamped way in among AMQP headers, or null unless there is exactly one. AMQP header names are case-sensitive,
    /// so a sender could have added "hub-way-in" beside the stamp; two candidates name no sender, and the gate refuses.
    /// </summary>
    public static string? StampedOn(IDictionary<string, object?>? headers)
    {
        var stamps = (headers ?? new Dictionary<string, object?>())
            .Where(header => string.Equals(header.Key, Header, StringComparison.OrdinalIgnoreCase))
            .Select(header => AsText(header.Value))
            .ToList();
        return stamps is [{ Length: > 0 } stamp] ? stamp : null;
    }

    /// <summary>RabbitMQ.Client hands string headers over as the bytes of an AMQP long string.</summary>
    public static string? AsText(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        _ => null,
    };
}
