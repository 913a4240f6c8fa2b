namespace FamiljecentralHub.Contracts.Consents;

/// <summary>
/// A consent was revoked, or (with <see cref="MessageIds"/>) no longer covers some deliveries made under it: a version
/// that narrows it, a grantor it rested on no longer has custody, or it reached its end. Every receiving operation withholds what it has
/// not yet handed out (under the consent, or of those messages) and tells the receiving system about what it already
/// has. Metadata only: the subject appears as its pseudonym.
/// </summary>
public sealed record ConsentRevoked
{
    public required Guid ConsentId { get; init; }
    public required int Version { get; init; }
    public required string SubjectPseudonym { get; init; }
    public required IReadOnlyList<string> SendingUnits { get; init; }
    public required IReadOnlyList<string> ReceivingUnits { get; init; }
    public required DateTimeOffset RevokedAt { get; init; }

    /// <summary>
    /// Null: the whole consent is revoked. Otherwise only these deliveries lost their cover; the consent stands for the
    /// rest and for what the gate permits from now on.
    /// </summary>
    public IReadOnlyList<Guid>? MessageIds { get; init; }

    /// <summary>With <see cref="MessageIds"/>: the change that took the cover away (one notice per change and unit).</summary>
    public Guid? ChangeId { get; init; }

    /// <summary>
    /// With <see cref="MessageIds"/>: the consent reached its end, no change was made. What the receiving system fetched
    /// while it held was lawfully disclosed and is not noticed; only what it has not fetched is withheld.
    /// </summary>
    public bool Lapsed { get; init; }
}
