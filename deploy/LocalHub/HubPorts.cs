using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>Every loopback port a hub listens on.</summary>
public sealed record HubPorts
{
    public required int Gateway { get; init; }

    public required int GatewayHealth { get; init; }

    /// <summary>HTTP port of each service (its first instance), by service name.</summary>
    public required IReadOnlyDictionary<string, int> Services { get; init; }

    /// <summary>HTTP ports of the second and further instances of each service; empty with one instance each.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> ExtraInstances { get; init; } = new Dictionary<string, IReadOnlyList<int>>();

    public required int RabbitMq { get; init; }

    public required int RabbitMqManagement { get; init; }

    /// <summary>0 with shared nodes: not ours to know.</summary>
    public required int RabbitMqDistribution { get; init; }

    /// <summary>Nodes 2..n of a RabbitMQ cluster (<see cref="HubOptions.BrokerNodes"/>); empty for a single node.</summary>
    public IReadOnlyList<RabbitMqPorts> RabbitMqPeers { get; init; } = [];

    /// <summary>Every RabbitMQ node's ports, the first node (<see cref="RabbitMq"/> ...) first.</summary>
    public IReadOnlyList<RabbitMqPorts> RabbitMqNodes => [new(RabbitMq, RabbitMqManagement, RabbitMqDistribution), .. RabbitMqPeers];

    public required int Postgres { get; init; }

    /// <summary>
    /// RabbitMQ's Prometheus endpoint (the rabbitmq_prometheus plugin) of each node, node 1 first: 15692, 15693, … with
    /// fixed ports (15692 is the plugin's own default); empty with shared nodes, whose plugins are not ours to set.
    /// </summary>
    public IReadOnlyList<int> RabbitMqPrometheus { get; init; } = [];

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
        RabbitMqPrometheus = [15692],
    };

    /// <summary>
    /// Ports for <paramref name="instances"/> instances of every service: free ones, or with fixed ports instance n of a
    /// service on its fixed port + 100·(n−1) (5101, 5201, ...).
    /// </summary>
    internal HubPorts WithInstances(int instances, bool free) => this with
    {
        ExtraInstances = Services.ToDictionary(
            service => service.Key,
            IReadOnlyList<int> (service) => [.. Enumerable.Range(2, instances - 1).Select(n => free ? FreePorts.Next() : service.Value + 100 * (n - 1))]),
    };

    /// <summary>Every instance's port of one service, the first instance's first.</summary>
    public IReadOnlyList<int> InstancesOf(string service) =>
        [Services[service], .. ExtraInstances.TryGetValue(service, out var extra) ? extra : []];

    /// <summary>
    /// The fixed ports with a cluster of <paramref name="brokerNodes"/>: node k listens on 5671+k, management
    /// 15671+k and distribution 25671+k (5673, 15673, 25673 for node 2).
    /// </summary>
    internal static HubPorts FixedFor(int brokerNodes) => Fixed with
    {
        RabbitMqPeers = Enumerable.Range(1, brokerNodes - 1)
            .Select(offset => new RabbitMqPorts(Fixed.RabbitMq + offset, Fixed.RabbitMqManagement + offset, Fixed.RabbitMqDistribution + offset))
            .ToList(),
        RabbitMqPrometheus = [.. Enumerable.Range(0, brokerNodes).Select(offset => 15692 + offset)],
    };

    internal static HubPorts Free(int brokerNodes = 1) => new()
    {
        Gateway = FreePorts.Next(),
        GatewayHealth = FreePorts.Next(),
        Services = HubService.All.ToDictionary(service => service.Name, _ => FreePorts.Next()),
        RabbitMq = FreePorts.Next(),
        RabbitMqManagement = FreePorts.Next(),
        RabbitMqDistribution = FreePorts.Next(),
        Postgres = FreePorts.Next(),
        RabbitMqPeers = Enumerable.Range(1, brokerNodes - 1)
            .Select(_ => new RabbitMqPorts(FreePorts.Next(), FreePorts.Next(), FreePorts.Next()))
            .ToList(),
        RabbitMqPrometheus = [.. Enumerable.Range(0, brokerNodes).Select(_ => FreePorts.Next())],
    };

    /// <summary>The ports this hub will bind itself (node ports only when the nodes are private).</summary>
    internal IEnumerable<(string What, int Port)> Listening(bool privateNodes)
    {
        yield return ("gateway", Gateway);
        yield return ("gateway health", GatewayHealth);
        foreach (var name in Services.Keys)
        {
            foreach (var (port, index) in InstancesOf(name).Select((port, index) => (port, index)))
            {
                yield return (index == 0 ? name : $"{name} #{index + 1}", port);
            }
        }
        if (privateNodes)
        {
            foreach (var (node, index) in RabbitMqNodes.Select((node, index) => (node, index)))
            {
                var which = RabbitMqNodes.Count == 1 ? "RabbitMQ" : $"RabbitMQ node {index + 1}";
                yield return (which, node.Amqp);
                yield return ($"{which} management", node.Management);
                yield return ($"{which} distribution", node.Distribution);
                if (index < RabbitMqPrometheus.Count)
                {
                    yield return ($"{which} Prometheus", RabbitMqPrometheus[index]);
                }
            }
            yield return ("PostgreSQL", Postgres);
        }
    }
}

/// <summary>The loopback ports of one RabbitMQ node: AMQP, the management API and Erlang distribution (clustering).</summary>
public sealed record RabbitMqPorts(int Amqp, int Management, int Distribution);
