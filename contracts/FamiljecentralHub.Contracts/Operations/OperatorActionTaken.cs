namespace FamiljecentralHub.Contracts.Operations;

/// <summary>
/// An operator acted on a service's messages (issue 13: redrive from the console's dead letters): who, in which scope,
/// why, on which messages. The service publishes it, confirmed by the broker, before it acts; the ledger records it.
/// Metadata only: ids, codes, queue names. The reason is a code and the ticket a case reference of a fixed shape, so no
/// free text an operator typed can carry a name into the ledger.
/// </summary>
public sealed record OperatorActionTaken
{
    public required Guid ActionId { get; init; }

    /// <summary>The service that acted, on its own error queues; the routing key's publisher, which the broker vouches for.</summary>
    public required string Service { get; init; }

    /// <summary>What was done: <see cref="OperatorActions.Redrive"/>.</summary>
    public required string Action { get; init; }

    /// <summary>The operations client (its certificate's registered id) that asked.</summary>
    public required string Operator { get; init; }

    /// <summary>The operator's scope: a principal's id, or hub.</summary>
    public required string Scope { get; init; }

    /// <summary>One of <see cref="OperatorActions.Reasons"/>.</summary>
    public required string Reason { get; init; }

    /// <summary>The operator's case reference, when given: letters, digits and dashes.</summary>
    public string? Ticket { get; init; }

    public required IReadOnlyList<Guid> MessageIds { get; init; }

    public required IReadOnlyList<string> Queues { get; init; }

    public required DateTimeOffset At { get; init; }
}

public static class OperatorActions
{
    public const string Redrive = "redrive";

    /// <summary>Why an operator redrives: the console offers these and the services accept no other.</summary>
    public static readonly IReadOnlyList<string> Reasons = ["cause-fixed", "transient-fault", "receiver-restored", "configuration-corrected"];
}
