using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub;

/// <summary>One of the hub's services (<see cref="Catalogue"/>) as LocalHub runs it: with its fixed port.</summary>
internal sealed record HubService(string Name, string Project, int FixedPort)
{
    /// <summary>Every service of the catalogue, in its order, on ports 5101, 5102, ….</summary>
    public static IReadOnlyList<HubService> All { get; } =
        [.. Catalogue.Services.Select((service, index) => new HubService(service.Name, service.Project, 5101 + index))];

    /// <summary>hub_maternity_care, hub_consent, ...: one database per service.</summary>
    public string Database => "hub_" + Name.Replace('-', '_');

    /// <summary>The service as the topology describes it (its role decides its database rights too).</summary>
    public FamiljecentralHub.Topology.HubService Catalogued => Catalogue.Services.Single(service => service.Name == Name);
}
