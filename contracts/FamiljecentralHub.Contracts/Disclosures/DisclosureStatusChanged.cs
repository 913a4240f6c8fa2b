namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// A lifecycle event, metadata only: it goes to the sender's status view and to operations monitoring, so it
/// must never carry a personal identity number, a name or free text. The subject appears only as its keyed
/// pseudonym; reasons are fixed phrases the hub writes itself.
/// </summary>
public sealed record DisclosureStatusChanged
{
    public required Guid MessageId { get; init; }
    public required DisclosureStatus Status { get; init; }
    public required string SendingUnit { get; init; }
    public required string ReceivingUnit { get; init; }
    public required Purpose Purpose { get; init; }
    public required string SubjectPseudonym { get; init; }
    public IReadOnlyList<string> Reasons { get; init; } = [];
    public string? Basis { get; init; }

    /// <summary>The information categories the message carries (names, never content).</summary>
    public IReadOnlyList<InformationCategory> Categories { get; init; } = [];

    /// <summary>The client system that caused this step, when one did (the receiver that acknowledged).</summary>
    public string? ActingSystem { get; init; }

    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>When the sending service accepted the message, where the publisher knows it: operations measure submit → delivered from it.</summary>
    public DateTimeOffset? SubmittedAt { get; init; }
}
