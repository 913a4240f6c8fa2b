namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// A sending operation asks the secrecy gate to pass information to another unit. Sent to the gate's own queue,
/// never published, so that no other subscriber can bind to a message that carries personal data.
/// </summary>
public sealed record SubmitDisclosure
{
    public required Guid MessageId { get; init; }

    /// <summary>
    /// For an id derived from the client's Idempotency-Key, the key's SHA-256 (never the key): the gate derives the id
    /// again from the sending unit and this, and takes no decision on a submission whose id is not its unit's. Null for
    /// an id without a key (random).
    /// </summary>
    public byte[]? KeyDigest { get; init; }
    public required string SendingUnit { get; init; }
    public required string ReceivingUnit { get; init; }
    public required Purpose Purpose { get; init; }
    public required IReadOnlyList<InformationCategory> Categories { get; init; }

    /// <summary>
    /// The subject's personal identity or co-ordination number (12 digits); or, for a report of concern whose child is
    /// known only by name, the stand-in <c>unidentified-&lt;message id&gt;</c> (the name is only in the content).
    /// </summary>
    public required string SubjectId { get; init; }

    /// <summary>The legal basis the sender claims, or null to rely on consent or the same secrecy area.</summary>
    public ClaimedBasis? ClaimedBasis { get; init; }

    /// <summary>The message body as JSON, opaque to the hub.</summary>
    public required string Content { get; init; }

    /// <summary>The client system that submitted it (from its certificate).</summary>
    public required string ActingSystem { get; init; }

    /// <summary>The user at the client system (e.g. an HSA id), as the system reports it.</summary>
    public string? ActingUser { get; init; }

    public required DateTimeOffset SubmittedAt { get; init; }
}
