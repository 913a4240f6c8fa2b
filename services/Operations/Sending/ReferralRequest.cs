using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>A referral (slussning) from one of the caller's units to a unit of another operation.</summary>
public sealed record ReferralRequest
{
    public string? ReceivingUnit { get; init; }

    /// <summary>The child's (or the expectant parent's) personal identity or co-ordination number.</summary>
    public string? SubjectId { get; init; }

    public IReadOnlyList<InformationCategory>? Categories { get; init; }

    /// <summary>Why the family is referred, in the sender's words. Travels only to the permitted receiver.</summary>
    public string? Reason { get; init; }

    /// <summary>The user at the client system, e.g. an HSA id; recorded in the decision ledger.</summary>
    public string? ActingUser { get; init; }

    public ClaimedBasis? Basis { get; init; }
}
