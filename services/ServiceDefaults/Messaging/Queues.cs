using FamiljecentralHub.Contracts.Organisation;
using MassTransit;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// The queue names that form the hub's boundaries. Submissions go only to the gate; deliveries only from the gate.
/// The broker's permissions are written against these names.
/// </summary>
public static class Queues
{
    public const string Gate = "consent-gate";

    /// <summary>
    /// The topic exchange of lifecycle events, routed by sending unit: a service binds only its own units, so it
    /// receives only its own messages' events, and Ops binds everything.
    /// </summary>
    public const string StatusExchange = "hub.disclosure-status";

    public static string ServiceFor(OperationType operation) => operation switch
    {
        OperationType.MaternityCare => "maternity-care",
        OperationType.ChildHealth => "child-health",
        OperationType.OpenPreschool => "open-preschool",
        OperationType.PreventiveSocialServices or OperationType.SocialServicesIntake => "social-services",
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
    };

    public static string DeliveriesOf(string service) => $"{service}-deliveries";

    public static string StatusOf(string service) => $"{service}-status";

    /// <summary>
    /// The queue's own exchange, not the queue: a sender must not declare the queue (only its consumer knows it is
    /// a quorum queue, and a plain redeclaration is refused by the broker), and with the mandatory flag a message that
    /// no queue takes is returned as an error instead of silently dropped.
    /// </summary>
    public static Uri Address(string queue) => new($"exchange:{queue}");

    /// <summary>Sends to one queue and completes only when the broker has confirmed that a queue holds it.</summary>
    public static async Task SendToQueue<T>(this ISendEndpointProvider provider, string queue, T message, Guid? messageId = null, CancellationToken cancellationToken = default)
        where T : class
    {
        var endpoint = await provider.GetSendEndpoint(Address(queue));
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
