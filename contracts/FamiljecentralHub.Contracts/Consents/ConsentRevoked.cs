namespace FamiljecentralHub.Contracts.Consents;

/// <summary>
/// A consent was revoked. Every receiving operation withholds what it has not yet handed out under this consent and
/// tells the receiving system about what it already has. Metadata only: the subject appears as its pseudonym.
/// </summary>
public sealed record ConsentRevoked
{
    public required Guid ConsentId { get; init; }
    public required int Version { get; init; }
    public required string SubjectPseudonym { get; init; }
    public required IReadOnlyList<string> SendingUnits { get; init; }
    public required IReadOnlyList<string> ReceivingUnits { get; init; }
    public required DateTimeOffset RevokedAt { get; init; }
}
