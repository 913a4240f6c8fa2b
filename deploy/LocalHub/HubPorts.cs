using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>Every loopback port a hub listens on.</summary>
public sealed record HubPorts
{
    public required int Gateway { get; init; }

    public required int GatewayHealth { get; init; }

    /// <summary>HTTP port of each service, by service name.</summary>
    public required IReadOnlyDictionary<string, int> Services { get; init; }

    public required int RabbitMq { get; init; }

    public required int RabbitMqManagement { get; init; }

    /// <summary>0 with shared nodes: not ours to know.</summary>
    public required int RabbitMqDistribution { get; init; }

    public required int Postgres { get; init; }

    /// <summary>The ports 'run' uses and the README documents.</summary>
    public static HubPorts Fixed { get; } = new()
    {
        Gateway = 8443,
        GatewayHealth = 8081,
        Services = HubService.All.ToDictionary(service => service.Name, service => service.FixedPort),
        RabbitMq = 5672,
        RabbitMqManagement = 15672,
        RabbitMqDistribution = 25672,
        Postgres = 5432,
    };

    internal static HubPorts Free() => new()
    {
        Gateway = FreePorts.Next(),
        GatewayHealth = FreePorts.Next(),
        Services = HubService.All.ToDictionary(service => service.Name, _ => FreePorts.Next()),
        RabbitMq = FreePorts.Next(),
        RabbitMqManagement = FreePorts.Next(),
        RabbitMqDistribution = FreePorts.Next(),
        Postgres = FreePorts.Next(),
    };

    /// <summary>The ports this hub will bind itself (node ports only when the nodes are private).</summary>
    internal IEnumerable<(string What, int Port)> Listening(bool privateNodes)
    {
        yield return ("gateway", Gateway);
        yield return ("gateway health", GatewayHealth);
        foreach (var (name, port) in Services)
        {
            yield return (name, port);
        }
        if (privateNodes)
        {
            yield return ("RabbitMQ", RabbitMq);
            yield return ("RabbitMQ management", RabbitMqManagement);
            yield return ("RabbitMQ distribution", RabbitMqDistribution);
            yield return ("PostgreSQL", Postgres);
        }
    }
}
