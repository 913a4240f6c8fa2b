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
}
