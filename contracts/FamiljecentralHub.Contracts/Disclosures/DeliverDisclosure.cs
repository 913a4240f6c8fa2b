namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// The gate has permitted a disclosure and hands it to the receiving operation's delivery queue. Only the gate's
/// broker user may write to those queues.
/// </summary>
public sealed record DeliverDisclosure
{
    public required SubmitDisclosure Disclosure { get; init; }

    /// <summary>The legal basis the gate relied on, e.g. "consent" or "same-secrecy-area".</summary>
    public required string Basis { get; init; }

    /// <summary>The consent relied on, when the basis is consent: the receiver re-checks it before storing.</summary>
    public Guid? ConsentId { get; init; }

    public required DateTimeOffset PermittedAt { get; init; }

    /// <summary>
    /// What the sender showed for the basis, set by the gate only when it permitted on the statutory basis the sender
    /// claimed (domain.md section 4): the receiver keeps it with the body. Never a claim the gate did not rely on.
    /// </summary>
    public ClaimedBasis? Evidence { get; init; }
}
