using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;

namespace FamiljecentralHub.ServiceDefaults.Organisation;

/// <summary>
/// Which receiving operation takes which purpose from which sending operation (domain.md section 6): the one rule the
/// gate refuses by and the sender checks before it submits, so a message that can never be permitted is refused at once
/// and the two can never disagree.
/// </summary>
public static class AcceptedPurposes
{
    public static bool Accepts(OperationType sender, OperationType receiver, Purpose purpose) => purpose switch
    {
        // The social committee's intake takes reports of concern from anyone, and nothing else but care handovers.
        Purpose.ReportOfConcern => receiver == OperationType.SocialServicesIntake,
        Purpose.BirthHandover => sender == OperationType.MaternityCare && receiver == OperationType.ChildHealth,
        Purpose.CareHandover => (sender, receiver) is
            (OperationType.SocialServicesIntake, OperationType.PreventiveSocialServices) or
            (OperationType.PreventiveSocialServices, OperationType.SocialServicesIntake),
        _ => receiver != OperationType.SocialServicesIntake,
    };

    public static bool Accepts(Unit sender, Unit receiver, Purpose purpose) => Accepts(sender.Operation, receiver.Operation, purpose);
}
