using FamiljecentralHub.Contracts.Organisation;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// The queue names that form the hub's boundaries. Submissions go only to the gate; deliveries only from the gate.
/// The broker's permissions are written against these names.
/// </summary>
public static class Queues
{
    public const string Gate = "consent-gate";

    public static string ServiceFor(OperationType operation) => operation switch
    {
        OperationType.MaternityCare => "maternity-care",
        OperationType.ChildHealth => "child-health",
        OperationType.OpenPreschool => "open-preschool",
        OperationType.PreventiveSocialServices or OperationType.SocialServicesIntake => "social-services",
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
    };

    public static string DeliveriesOf(string service) => $"{service}-deliveries";

    public static string StatusOf(string service) => $"{service}-status";

    public static Uri Address(string queue) => new($"queue:{queue}");
}
