using FamiljecentralHub.Contracts.Organisation;

namespace FamiljecentralHub.Topology;

/// <summary>
/// The broker names that form the hub's boundaries. Submissions go only to the gate; deliveries only from the gate.
/// The broker's permissions (<see cref="BrokerPermissions"/>, docs/broker-permissions.md) are written against these
/// names, and the deployment declares <see cref="BoundaryBindings"/> before any service starts
/// (<see cref="BrokerDefinitions"/>), so the deployment and the services cannot disagree on a name.
/// </summary>
public static class Queues
{
    public const string Gate = "consent-gate";

    /// <summary>
    /// The topic exchange of lifecycle events, routed by publisher, sender's service, sending unit and status
    /// (<see cref="StatusRoutes"/>): a service binds only its own units, so it receives only its own messages' events;
    /// Ops and the ledger bind the statuses they record.
    /// </summary>
    public const string StatusExchange = "hub.disclosure-status";

    /// <summary>The fanout exchange of consent revocations, from the consent service to every receiving operation.</summary>
    public const string RevocationExchange = "hub.consent-revocations";

    /// <summary>The name of the service that hosts <paramref name="operation"/> (<see cref="Catalogue.ServiceFor"/>).</summary>
    public static string ServiceFor(OperationType operation) => Catalogue.ServiceFor(operation).Name;

    /// <summary>The services that host operations: each sends through the gate and receives deliveries from it.</summary>
    public static IReadOnlyList<string> OperationServices { get; } = [.. Catalogue.OperationServices.Select(service => service.Name)];

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

    /// <summary>The gate's ledger of what happened after each decision, fed by the lifecycle events.</summary>
    public const string Ledger = "consent-ledger";

    /// <summary>
    /// The gate's queue of deliveries an operation service put back from its error queue: the gate sends again only what
    /// its ledger permitted (docs/error-queues.md), so a redrive cannot put a message into an inbox past the gate.
    /// </summary>
    public const string Redeliveries = "consent-redeliveries";

    /// <summary>Ops' queue of every unit's lifecycle outcomes.</summary>
    public const string Flows = "ops-flows";

    public static string RevocationsOf(string service) => $"{service}-revocations";

    /// <summary>
    /// The way back for <paramref name="service"/>'s delivery error copies, bound to the gate's
    /// <see cref="Redeliveries"/> queue; only that service may write to it, so the gate knows whose copy it holds.
    /// </summary>
    public static string RedeliveryExchangeOf(string service) => $"redeliveries.{service}";

    /// <summary>Every queue <paramref name="service"/> consumes: its error queues are these names with "_error".</summary>
    public static IReadOnlyList<string> ReceiveQueuesOf(string service) => Catalogue.Find(service)?.Role switch
    {
        ServiceRole.Gate => [Gate, Redeliveries, Ledger],
        ServiceRole.Ops => [Flows],
        ServiceRole.Operation => [DeliveriesOf(service), StatusOf(service), RevocationsOf(service)],
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "not a hub service"),
    };

    /// <summary>Every service that consumes from the broker, as the broker's users are named.</summary>
    public static IReadOnlyList<string> Services => Catalogue.Names;

    /// <summary>Where MassTransit moves a message of <paramref name="queue"/> that has used up its retries.</summary>
    public static string ErrorQueueOf(string queue) => $"{queue}_error";

    /// <summary>
    /// The exchange through which the owner of <paramref name="queue"/> puts messages from its error queue back into it
    /// (docs/error-queues.md). Only that owner may write to it, so a message that comes through it is one the owner
    /// took from its own error queue, and the way in stamped on that error copy still holds.
    /// </summary>
    public static string RedriveExchangeOf(string queue) => $"redrive.{queue}";

    /// <summary>
    /// The queues whose error copies go straight back to them through their redrive exchange: every queue but the
    /// delivery queues, whose copies go back through the gate (<see cref="WayBackOf"/>). The gate decides a redriven
    /// submission again; the other consumers are idempotent by message id and check what they check on a first arrival.
    /// </summary>
    public static IReadOnlyList<string> RedrivableQueues { get; } =
        [.. Services.SelectMany(ReceiveQueuesOf).Where(queue => !OperationServices.Any(service => queue == DeliveriesOf(service)))];

    /// <summary>The exchange an error copy of <paramref name="queue"/> is put back through.</summary>
    public static string WayBackOf(string queue) =>
        OperationServices.FirstOrDefault(service => queue == DeliveriesOf(service)) is { } receiver
            ? RedeliveryExchangeOf(receiver)
            : RedriveExchangeOf(queue);

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
        .. OperationServices.Select(service => (RedeliveryExchangeOf(service), Redeliveries)),
    ];

    /// <summary>
    /// Each redrivable queue's way back, declared and bound by the deployment like the boundary, so that no service
    /// needs the right to declare or delete it.
    /// </summary>
    public static IReadOnlyList<(string Exchange, string Queue)> RedriveBindings { get; } =
        [.. RedrivableQueues.Select(queue => (RedriveExchangeOf(queue), queue))];

    /// <summary>
    /// Each operation service's queue of revocations, bound to the consent service's fanout exchange by the deployment:
    /// a service that could declare that exchange could also delete it, and every other service's binding with it, so
    /// that revocations and the withdrawals they make went nowhere, confirmed all the same.
    /// </summary>
    public static IReadOnlyList<(string Exchange, string Queue)> RevocationBindings { get; } =
        [.. OperationServices.Select(service => (RevocationExchange, RevocationsOf(service)))];

    /// <summary>Every binding the deployment declares as the administrator: the boundary, the ways back and the revocations.</summary>
    public static IReadOnlyList<(string Exchange, string Queue)> DeploymentBindings { get; } = [.. BoundaryBindings, .. RedriveBindings, .. RevocationBindings];

    public static bool IsBoundaryQueue(string queue) => BoundaryBindings.Any(binding => binding.Queue == queue);

    public static bool IsRedriveExchange(string exchange) => RedrivableQueues.Any(queue => exchange == RedriveExchangeOf(queue));
}
