using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>A validated disclosure, whatever the operation-specific request it came from.</summary>
public sealed record DisclosureDraft(
    string ReceivingUnit,
    Purpose Purpose,
    IReadOnlyList<InformationCategory> Categories,
    string SubjectId,
    string Content,
    ClaimedBasis? Basis,
    string? ActingUser);
