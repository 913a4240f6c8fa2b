using FamiljecentralHub.Contracts.Organisation;

namespace FamiljecentralHub.Topology;

/// <summary>What a service is to the hub; it decides the service's queues and broker permissions.</summary>
public enum ServiceRole
{
    /// <summary>Hosts operations: submits through the gate and receives the gate's deliveries for its units.</summary>
    Operation,

    /// <summary>The consent service: the consent registry, the secrecy gate and the decision ledger.</summary>
    Gate,

    /// <summary>Flow monitoring and the ops page: reads lifecycle events and publishes nothing.</summary>
    Ops,
}

/// <summary>
/// One deployable service. Its name is everything the hub knows it by: the gateway's route, the caller token's audience,
/// the broker user, the prefix of its queues and (with underscores) its database.
/// </summary>
/// <param name="Project">Its project folder under services/ and the last part of its assembly name.</param>
/// <param name="Operations">The operations (verksamheter) whose units it serves; none for the gate and ops.</param>
public sealed record HubService(string Name, string Project, ServiceRole Role, IReadOnlyList<OperationType> Operations)
{
    public bool Hosts(OperationType operation) => Operations.Contains(operation);

    /// <summary>Every queue the service consumes (<see cref="Queues.ReceiveQueuesOf"/>).</summary>
    public IReadOnlyList<string> ReceiveQueues => Queues.ReceiveQueuesOf(Name);

    public override string ToString() => Name;
}

/// <summary>The hub's services: the one list the gateway, the services and every deployment read.</summary>
public static class Catalogue
{
    public static HubService MaternityCare { get; } = new("maternity-care", "MaternityCare", ServiceRole.Operation, [OperationType.MaternityCare]);

    public static HubService ChildHealth { get; } = new("child-health", "ChildHealth", ServiceRole.Operation, [OperationType.ChildHealth]);

    public static HubService OpenPreschool { get; } = new("open-preschool", "OpenPreschool", ServiceRole.Operation, [OperationType.OpenPreschool]);

    /// <summary>Both sides of the social committee: preventive social services and the intake (mottagning).</summary>
    public static HubService SocialServices { get; } = new(
        "social-services", "SocialServices", ServiceRole.Operation, [OperationType.PreventiveSocialServices, OperationType.SocialServicesIntake]);

    public static HubService Consent { get; } = new("consent", "Consent", ServiceRole.Gate, []);

    public static HubService Ops { get; } = new("ops", "Ops", ServiceRole.Ops, []);

    /// <summary>Every service, in a fixed order (LocalHub gives them ports 5101, 5102, … in this order).</summary>
    public static IReadOnlyList<HubService> Services { get; } = [MaternityCare, ChildHealth, OpenPreschool, SocialServices, Consent, Ops];

    public static IReadOnlyList<string> Names { get; } = [.. Services.Select(service => service.Name)];

    /// <summary>The services that host operations: each sends through the gate and receives deliveries from it.</summary>
    public static IReadOnlyList<HubService> OperationServices { get; } = [.. Services.Where(service => service.Role == ServiceRole.Operation)];

    /// <summary>The one service that hosts <paramref name="operation"/>.</summary>
    public static HubService ServiceFor(OperationType operation) =>
        OperationServices.SingleOrDefault(service => service.Hosts(operation))
            ?? throw new ArgumentOutOfRangeException(nameof(operation), operation, "no service hosts this operation");

    public static HubService? Find(string name) => Services.FirstOrDefault(service => service.Name == name);

    public static HubService Named(string name) =>
        Find(name) ?? throw new ArgumentException($"No service '{name}'; known: {string.Join(", ", Names)}.", nameof(name));
}
