namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// Where one disclosure is on its way. Values are only ever added at the end (they travel by name and number); the
/// order of the lifecycle is the status view's rank (StatusChangedConsumer.RankOf).
/// </summary>
public enum DisclosureStatus
{
    Submitted,
    Permitted,
    Refused,
    Delivered,
    Acknowledged,
    Withdrawn,

    /// <summary>
    /// The receiving service could not store the delivery, whatever the retries: it waits in that service's error queue
    /// until its operator redrives it, and is then Delivered (or Withdrawn, had the consent been revoked meanwhile).
    /// </summary>
    DeliveryFailed,

    /// <summary>
    /// Not a step of the lifecycle: a second, different submission arrived under a message id the gate had already
    /// decided. It was not delivered; the decided message's own status stands.
    /// </summary>
    Conflict,
}
