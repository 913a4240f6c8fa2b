using System.Text.RegularExpressions;

namespace FamiljecentralHub.Topology;

/// <summary>RabbitMQ permissions of one user on one virtual host: regular expressions over resource names.</summary>
public sealed record BrokerPermission(string Configure, string Write, string Read);

/// <summary>
/// Which broker user may do what: least privilege, so that the broker itself holds the secrecy boundary and a bug or
/// a breach in one service cannot bypass the gate. Only the gate can put a message into an operation service's
/// delivery queue; an operation service can submit to the gate through its own exchange and read its own queues, but
/// not read, purge or delete the gate's; the gate reads no operation service's queue; each service alone may put back
/// the messages of its own error queues, a delivery only through the gate; Ops publishes no status, only the operator
/// actions on its own error queues.
/// docs/broker-permissions.md explains the table.
/// </summary>
/// <remarks>
/// RabbitMQ's rules: <b>configure</b> is declaring and deleting a queue or exchange (MassTransit declares every one it
/// touches, before sending, publishing or binding); <b>write</b> is publishing to an exchange, and being the
/// destination of a binding (binding a queue needs write on the queue); <b>read</b> is consuming, getting and purging
/// from a queue, and being the source of a binding (read on the exchange). Each regex matches queue and exchange names
/// alike, so the ways into the boundary queues are exchanges named apart from every queue (<see cref="Queues"/>).
/// Every regex is anchored: none matches <c>amq.default</c>, so only the administrator may publish straight to a
/// queue by its name through the default exchange.
/// </remarks>
public static class BrokerPermissions
{
    public static IReadOnlyDictionary<string, BrokerPermission> ByService { get; } = Catalogue.Services.ToDictionary(
        service => service.Name,
        service => service.Role switch
        {
            ServiceRole.Operation => OperationService(service.Name),
            ServiceRole.Gate => Gate(service.Name),
            ServiceRole.Ops => Ops(service.Name),
            _ => throw new InvalidOperationException($"No broker permissions for the role {service.Role}."),
        });

    /// <summary>
    /// The user Ops reads the management API with (queue depths for the alerts, docs/alerts.md), apart from its AMQP user:
    /// tagged <c>monitoring</c> and nothing else, a login on the virtual host without a single resource (an empty
    /// pattern matches no name; RabbitMQ names the default exchange amq.default). It can list queues and their counts,
    /// never consume, get, purge, publish or declare.
    /// </summary>
    public const string MonitoringUser = "ops-monitor";

    /// <summary>The management tag of <see cref="MonitoringUser"/>: read-only statistics, no policy, no definitions.</summary>
    public const string MonitoringTag = "monitoring";

    public static BrokerPermission Monitoring { get; } = new(Configure: "", Write: "", Read: "");

        public static BrokerPermission For(string service) =>
        ByService.TryGetValue(service, out var permission)
            ? permission
            : throw new ArgumentException($"No broker permissions are defined for '{service}'.", nameof(service));

    private static BrokerPermission OperationService(string service) => new(
        Configure: AnyOf(
            Own(service),                                  // its queues and the exchanges MassTransit names after them
            Exactly(Queues.SubmissionExchangeOf(service)), // MassTransit declares the exchange it sends to
            Exactly(Queues.StatusExchange)),               // ... it publishes to and binds its status queue to
        Write: AnyOf(
            // Its queues as binding destinations and its _error/_skipped queues, but not its delivery queue: who may
            // bind that queue may feed it from an exchange of its own, past the gate.
            Own(service, except: Queues.DeliveriesOf(service)),
            Exactly(Queues.SubmissionExchangeOf(service)), // submits to the gate, through its own exchange only
            Exactly(Queues.StatusExchange),                // publishes Delivered, DeliveryFailed, Withdrawn, Acknowledged
            WaysBack(service)),                            // puts its error copies back (errors redrive); deliveries via the gate
        Read: AnyOf(
            Own(service),                                  // consumes its queues, the delivery and revocations queues included
            Exactly(Queues.StatusExchange)));              // binds its status queue (for its own units' events); the deployment binds its revocations queue

    private static BrokerPermission Gate(string service) => new(
        Configure: AnyOf(
            Own(service),                                  // consent-gate, consent-ledger and theirs
            DeliveryExchanges(),                           // MassTransit declares the exchange it sends to
            Exactly(Queues.StatusExchange),                // ... it publishes to and binds the ledger queue to
            Exactly(Queues.RevocationExchange)),           // ... it publishes revocations to
        Write: AnyOf(
            Own(service, except: [Queues.Gate, Queues.Redeliveries]), // binds its own queues but the deployment's, feeds its _error queues
            DeliveryExchanges(),                           // the only user that can deliver to an operation service
            WaysBack(service),                             // puts its error copies back, to the gate too (consent errors redrive)
            Exactly(Queues.StatusExchange),                // publishes Permitted, Refused
            Exactly(Queues.RevocationExchange)),           // publishes ConsentRevoked
        Read: AnyOf(
            Own(service),                                  // consumes submissions and the ledger's events; no other queue
            Exactly(Queues.StatusExchange)));              // binds the ledger queue to every status event

    private static BrokerPermission Ops(string service) => new(
        Configure: AnyOf(
            Own(service),                                  // its queues and the exchanges MassTransit names after them
            Exactly(Queues.StatusExchange)),               // MassTransit declares the exchange it binds to
        Write: AnyOf(
            Own(service),                                  // only as a binding destination and for its _error queues
            WaysBack(service),                             // puts its error copies back (ops errors redrive)
            Exactly(Queues.StatusExchange)),               // operator actions only: its topic permission allows no status
        Read: AnyOf(
            Own(service),                                  // consumes the flows queue
            Exactly(Queues.StatusExchange)));              // binds it to every status event

    /// <summary>Every queue and exchange named after the service: its own endpoints and their _error/_skipped queues.</summary>
    private static string Own(string service, string? except = null) => Own(service, except is null ? [] : [except]);

    private static string Own(string service, string[] except)
    {
        // Negative lookaheads (RabbitMQ's regexes are PCRE): the own names left out.
        var exclusion = string.Concat(except.Select(name => $"(?!{Regex.Escape(name)}$)"));
        return $"^{exclusion}{Regex.Escape(service)}-.*$";
    }

    /// <summary>
    /// The exchanges the service's error copies go back through (<see cref="Queues.WayBackOf"/>), each by its exact name:
    /// declared and bound by the deployment, written to by this service alone.
    /// </summary>
    private static string WaysBack(string service) =>
        $"^({string.Join('|', Queues.ReceiveQueuesOf(service).Select(queue => Regex.Escape(Queues.WayBackOf(queue))))})$";

    private static string DeliveryExchanges() =>
        $"^({string.Join('|', Queues.OperationServices.Select(service => Regex.Escape(Queues.DeliveryExchangeOf(service))))})$";

    private static string Exactly(string name) => $"^{Regex.Escape(name)}$";

    private static string AnyOf(params string[] patterns) => string.Join('|', patterns);
}
