using FamiljecentralHub.Contracts.Organisation;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// The broker names that form the hub's boundaries. Submissions go only to the gate; deliveries only from the gate.
/// The broker's permissions (deploy/LocalHub/BrokerPermissions.cs, docs/broker-permissions.md) are written against
/// these names, and the deployment declares <see cref="BoundaryBindings"/> before any service starts.
/// </summary>
/// <remarks>
/// LocalHub compiles this file too, so that the deployment and the services cannot disagree on a name: it depends on
/// nothing but the contracts, and it states no accessibility, so the class is internal there and public here (the
/// MassTransit part in QueueSending.cs makes it public).
/// </remarks>
static partial class Queues
{
    public const string Gate = "consent-gate";

    /// <summary>
    /// The topic exchange of lifecycle events, routed by "&lt;sending unit&gt;.&lt;status&gt;": a service binds only its own units, so it
    /// receives only its own messages' events; Ops and the ledger bind the statuses they record.
    /// </summary>
    public const string StatusExchange = "hub.disclosure-status";

    /// <summary>The fanout exchange of consent revocations, from the consent service to every receiving operation.</summary>
    public const string RevocationExchange = "hub.consent-revocations";

    public static string ServiceFor(OperationType operation) => operation switch
    {
        OperationType.MaternityCare => "maternity-care",
        OperationType.ChildHealth => "child-health",
        OperationType.OpenPreschool => "open-preschool",
        OperationType.PreventiveSocialServices or OperationType.SocialServicesIntake => "social-services",
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
    };

    /// <summary>The services that host operations: each sends through the gate and receives deliveries from it.</summary>
    public static IReadOnlyList<string> OperationServices { get; } = Enum.GetValues<OperationType>().Select(ServiceFor).Distinct().ToArray();

    /// <summary>The queue an operation service receives the gate's deliveries on.</summary>
    public static string DeliveriesOf(string service) => $"{service}-deliveries";

    public static string StatusOf(string service) => $"{service}-status";

    /// <summary>
    /// The exchange the gate delivers to <paramref name="service"/> through. Named apart from the queue on purpose:
    /// RabbitMQ's permissions match names, not kinds, so a queue and an exchange of one name share their rights, and the
    /// service, which must read its queue, must not be able to write to the way into it.
    /// </summary>
    public static string DeliveryExchangeOf(string service) => $"deliveries.{service}";

    /// <summary>
    /// The exchange <paramref name="service"/> submits to the gate through: one per service, so that only that
    /// service's broker user may write to it, no service holds configure rights (which declaring an exchange takes)
    /// on a name other services depend on, and the broker vouches for which service a submission came through.
    /// </summary>
    public static string SubmissionExchangeOf(string service) => $"submissions.{service}";

    /// <summary>Where MassTransit moves a message of <paramref name="queue"/> that has used up its retries.</summary>
    public static string ErrorQueueOf(string queue) => $"{queue}_error";

    /// <summary>
    /// The exchange through which the owner of <paramref name="queue"/> puts messages from its error queue back into it
    /// (docs/error-queues.md). Only that owner may write to it, so a message that comes through it is one the owner
    /// took from its own error queue, and the way in stamped on that error copy still holds.
    /// </summary>
    public static string RedriveExchangeOf(string queue) => $"redrive.{queue}";

    /// <summary>The queues whose error copies can be redriven: the gate's, which decides each again on its way back in.</summary>
    public static IReadOnlyList<string> RedrivableQueues { get; } = [Gate];

    /// <summary>
    /// The boundary as the deployment declares it with the broker's administrator before any service starts: each
    /// exchange (durable, fanout) and the queue (durable, quorum) it is bound to. The services consume these queues and
    /// send to these exchanges, but none may bind them: that takes write permission on the queue, and whoever may bind a
    /// delivery queue may feed it from an exchange of its own.
    /// </summary>
    public static IReadOnlyList<(string Exchange, string Queue)> BoundaryBindings { get; } =
    [
        .. OperationServices.Select(service => (SubmissionExchangeOf(service), Gate)),
        .. OperationServices.Select(service => (DeliveryExchangeOf(service), DeliveriesOf(service))),
        .. RedrivableQueues.Select(queue => (RedriveExchangeOf(queue), queue)),
    ];

    public static bool IsBoundaryQueue(string queue) => BoundaryBindings.Any(binding => binding.Queue == queue);

    public static bool IsRedriveExchange(string exchange) => RedrivableQueues.Any(queue => exchange == RedriveExchangeOf(queue));
}
