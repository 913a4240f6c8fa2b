namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>Where one disclosure is on its way. The order of the values is the order of the lifecycle.</summary>
public enum DisclosureStatus
{
    Submitted,
    Permitted,
    Refused,
    Delivered,
    Acknowledged,
    Withdrawn,

    /// <summary>
    /// Not a step of the lifecycle: a second, different submission arrived under a message id the gate had already
    /// decided. It was not delivered; the decided message's own status stands.
    /// </summary>
    Conflict,
}
