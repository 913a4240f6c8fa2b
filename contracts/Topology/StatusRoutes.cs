using System.Text.RegularExpressions;

namespace FamiljecentralHub.Topology;

/// <summary>
/// How lifecycle events are routed on <see cref="Queues.StatusExchange"/>:
/// "&lt;publisher&gt;.&lt;sender's service&gt;.&lt;sending unit&gt;.&lt;status&gt;". The broker's topic permissions hold each
/// service to its own name as the first word when it publishes, and an operation service to its own messages (its name
/// as the second word) when it binds a queue. So a consumer can tell from the routing key, which the broker vouches
/// for, who published an event, and check that this publisher may say it (<see cref="MayPublish"/>); and no operation
/// service can learn the message ids of other services' messages from their events.
/// </summary>
public static class StatusRoutes
{
    /// <summary>The word for a sending unit the organisation does not know: such an event belongs to no service's messages.</summary>
    public const string UnknownService = "unknown";

    public static string Key(string publisher, string senderService, string sendingUnit, string status) =>
        $"{publisher}.{senderService}.{sendingUnit}.{status}";

    /// <summary>A binding pattern; each part left out matches any one word.</summary>
    public static string Pattern(string? publisher = null, string? senderService = null, string? sendingUnit = null, string? status = null) =>
        Key(publisher ?? "*", senderService ?? "*", sendingUnit ?? "*", status ?? "*");

    /// <summary>
    /// The parts of a routing key, or null unless it has them all. Service names and statuses are single words; a unit
    /// id is whatever lies between, so a unit id with a dot in it still parses.
    /// </summary>
    public static (string Publisher, string SenderService, string SendingUnit, string Status)? Parse(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        var first = key.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : key.IndexOf('.', first + 1);
        var last = key.LastIndexOf('.');
        if (second < 0 || last <= second + 1 || last == key.Length - 1 || first == 0 || second == first + 1)
        {
            return null;
        }

        return (key[..first], key[(first + 1)..second], key[(second + 1)..last], key[(last + 1)..]);
    }

    /// <summary>
    /// Whether <paramref name="publisher"/> may say <paramref name="status"/> about a message to a unit of
    /// <paramref name="receiverService"/>: the gate its decisions; the receiving service what happened in its inbox; a
    /// conflict either of them (the gate refuses a second body, a receiver a second delivery). Submitted is never an event.
    /// </summary>
    public static bool MayPublish(string publisher, string status, string? receiverService) => status switch
    {
        "Permitted" or "Refused" => publisher == Catalogue.Consent.Name,
        "Delivered" or "DeliveryFailed" or "Withdrawn" or "Acknowledged" => receiverService is not null && publisher == receiverService,
        "Conflict" => publisher == Catalogue.Consent.Name || (receiverService is not null && publisher == receiverService),
        _ => false,
    };

    /// <summary>
    /// Operator actions travel on the status exchange under the acting service's name, then this second word, which no
    /// service is named: no operation service's status queue, bound to its own name as the second word, receives them,
    /// and no status binding (its last word a status) matches <see cref="OperatorActionWord"/>.
    /// </summary>
    public const string OperatorsWord = "operators";

    public const string OperatorActionWord = "OperatorAction";

    /// <summary>The routing key of an operator action the service <paramref name="publisher"/> took.</summary>
    public static string OperatorActionKey(string publisher, string scope) => Key(publisher, OperatorsWord, scope, OperatorActionWord);

    /// <summary>What the ledger binds to take every service's operator actions.</summary>
    public static string OperatorActionPattern => Pattern(senderService: OperatorsWord, status: OperatorActionWord);

    /// <summary>The topic permission on <see cref="Queues.StatusExchange"/> of one service's broker user.</summary>
    public static TopicPermission PermissionOf(HubService service) => service.Role switch
    {
        // Publishes under its own name only; binds only to events about its own messages.
        ServiceRole.Operation => new(Queues.StatusExchange, Write: $"^{Regex.Escape(service.Name)}\\.", Read: $"^\\*\\.{Regex.Escape(service.Name)}\\."),
        // The gate publishes decisions under its name and binds the ledger to every service's events.
        ServiceRole.Gate => new(Queues.StatusExchange, Write: $"^{Regex.Escape(service.Name)}\\.", Read: "^.*$"),
        // Ops publishes no status, only the operator actions on its own error queues, and follows every message.
        ServiceRole.Ops => new(Queues.StatusExchange, Write: $"^{Regex.Escape(service.Name)}\\.{OperatorsWord}\\.[^.]+\\.{OperatorActionWord}$", Read: "^.*$"),
        _ => throw new InvalidOperationException($"No topic permission for the role {service.Role}."),
    };
}

/// <summary>
/// A RabbitMQ topic permission: regexes over the routing keys a user may publish with (<paramref name="Write"/>) and
/// bind a queue with (<paramref name="Read"/>) on one topic exchange.
/// </summary>
public sealed record TopicPermission(string Exchange, string Write, string Read);
