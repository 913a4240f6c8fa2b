using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// A validated disclosure, whatever the operation-specific request it came from. A null subject id is a report of
/// concern whose child is known only by name: the sender gives it a stand-in (<see cref="UnidentifiedSubject"/>).
/// </summary>
public sealed record DisclosureDraft(
    string ReceivingUnit,
    Purpose Purpose,
    IReadOnlyList<InformationCategory> Categories,
    string? SubjectId,
    string Content,
    ClaimedBasis? Basis,
    string? ActingUser);
