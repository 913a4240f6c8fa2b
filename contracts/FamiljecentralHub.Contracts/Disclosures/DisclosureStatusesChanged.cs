namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// Several lifecycle events in one message: what a receiving system's one acknowledgement of a page of its inbox tells
/// the senders of that page. Each change is taken as if it had come alone, and all share one routing key (publisher,
/// sending unit, status), so every change must name the first one's sending unit and status: one whose do not is not
/// taken. One delivery to each consumer instead of one per message, which is the point.
/// </summary>
public sealed record DisclosureStatusesChanged
{
    /// <summary>The most changes one event may carry; a consumer takes none of a longer one.</summary>
    public const int MaxChanges = 100;

    public required IReadOnlyList<DisclosureStatusChanged> Changes { get; init; }
}
