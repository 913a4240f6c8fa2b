using System.Globalization;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// The RabbitMQ nodes of one hub: a single node (private or shared), or a cluster of private nodes on this machine,
/// each with its own directory, ports and node name. Node 1 is the seed: the others join its cluster at their first
/// boot through classic_config peer discovery, written into their config (rather than rabbitmqctl stop_app,
/// join_cluster and start_app after a first boot: each of those starts an Erlang VM of its own). The nodes share the Erlang cookie because they all run as the rabbitmq
/// user, whose home holds it. Users, virtual hosts, permissions and queue declarations are cluster-wide, so they are
/// made once, on any node.
/// </summary>
public sealed class RabbitMqCluster
{
    private static readonly TimeSpan LeaderTimeout = TimeSpan.FromSeconds(30);

    internal RabbitMqCluster(IReadOnlyList<RabbitMqNode> nodes)
    {
        if (nodes.Count == 0)
        {
            throw new ArgumentException("A cluster has at least one node.", nameof(nodes));
        }
        Nodes = nodes;
    }

    /// <summary>Node 1 (the seed) first.</summary>
    public IReadOnlyList<RabbitMqNode> Nodes { get; }

    /// <summary>
    /// A private cluster with node k's state in <paramref name="directories"/>[k] and its ports in
    /// <paramref name="ports"/>[k]; one of each gives a single node.
    /// </summary>
    public static RabbitMqCluster Private(IReadOnlyList<string> directories, IReadOnlyList<RabbitMqPorts> ports)
    {
        ArgumentNullException.ThrowIfNull(directories);
        ArgumentNullException.ThrowIfNull(ports);
        if (directories.Count != ports.Count || directories.Count == 0)
        {
            throw new ArgumentException("One directory and one set of ports for each node, and at least one node.", nameof(ports));
        }
        if (directories.Count == 1)
        {
            return new RabbitMqCluster([RabbitMqNode.Private(directories[0], ports[0].Amqp, ports[0].Management, ports[0].Distribution)]);
        }
        var seed = RabbitMqNode.ClusterNode(directories[0], ports[0].Amqp, ports[0].Management, ports[0].Distribution, seed: null);
        return new RabbitMqCluster(
        [
            seed,
            .. directories.Zip(ports).Skip(1).Select(node =>
                RabbitMqNode.ClusterNode(node.First, node.Second.Amqp, node.Second.Management, node.Second.Distribution, seed)),
        ]);
    }

    /// <summary>"127.0.0.1:5672" for each node, node 1 first: what a client needs to fail over between them.</summary>
    public IReadOnlyList<string> AmqpAddresses =>
        Nodes.Select(node => string.Create(CultureInfo.InvariantCulture, $"{node.Host}:{node.AmqpPort}")).ToList();

    /// <summary>The node of this cluster called <paramref name="nodeName"/> (e.g. "hub-5673@localhost").</summary>
    public RabbitMqNode Node(string nodeName) =>
        Nodes.FirstOrDefault(node => node.NodeName == nodeName)
            ?? throw new ArgumentException(
                $"No RabbitMQ node '{nodeName}' in this hub; its nodes are {string.Join(", ", Nodes.Select(node => node.NodeName))}.", nameof(nodeName));

    /// <summary>
    /// Starts every node that is not running and returns once all of them accept connections, in one cluster.
    /// Nodes with data start together: each waits at boot for the others to load the cluster's tables (the last
    /// one stopped may start alone, but which that was is not recorded). Blank nodes start once node 1 runs,
    /// since they join whatever cluster they find it in, and one at a time: two joining at once now and then left
    /// one of them not running (CI, about one cluster start in twenty).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var first = Nodes.Where((node, index) => index == 0 || node.HasData).ToList();
        await Task.WhenAll(first.Select(node => node.StartAsync(cancellationToken)));
        foreach (var blank in Nodes.Except(first))
        {
            await blank.StartAsync(cancellationToken);
        }
        if (Nodes.Count > 1)
        {
            await RequireOneClusterAsync(cancellationToken);
        }
    }

    /// <summary>Stops every node gracefully (together, so none waits for another), then epmd if this cluster started it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(Nodes.Select(node => node.StopNodeAsync(cancellationToken)));
        await ReleaseEpmdAsync(cancellationToken);
    }

    /// <summary>Kills every node (their data is deleted next), then stops epmd if this cluster started it.</summary>
    internal async Task DiscardAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(Nodes.Select(node => node.KillAsync(cancellationToken)));
        await ReleaseEpmdAsync(cancellationToken);
    }

    /// <summary>
    /// The name of the node whose member leads the quorum queue now (e.g. "hub-5672@localhost"); after a leader's
    /// node died it waits out the election. Asks the management API of the first node that is running and not frozen.
    /// </summary>
    public async Task<string> QueueLeaderAsync(string virtualHost, string queue, CancellationToken cancellationToken = default)
    {
        var path = $"queues/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(queue)}";
        var deadline = DateTime.UtcNow + LeaderTimeout;
        var last = "no node answered";
        while (true)
        {
            var (leader, online) = await QueueLeadershipAsync(path, cancellationToken);
            // Right after its node died, the queue's record still names the old leader, or none, until a follower
            // wins the election (about a second here).
            if (leader is not null && online.Contains(leader))
            {
                return leader;
            }
            if (online.Count > 0 || leader is not null)
            {
                last = $"leader {leader ?? "none"}, online {string.Join(", ", online)}";
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new LocalHubException($"Quorum queue '{queue}' in '{virtualHost}' has no leader on a running node ({last}).");
            }
            await Task.Delay(200, cancellationToken);
        }
    }

    private async Task<(string? Leader, IReadOnlyList<string> Online)> QueueLeadershipAsync(string path, CancellationToken cancellationToken)
    {
        // A frozen node's management API would hold the request until the HTTP timeout.
        if (Nodes.FirstOrDefault(node => !node.IsOwned || node.IsAnswering) is not { } node)
        {
            return (null, []);
        }
        JsonElement queue;
        try
        {
            queue = await node.GetManagementAsync(path, cancellationToken);
        }
        catch (HttpRequestException)
        {
            // The node went away between the check and the request; the next round asks another.
            return (null, []);
        }
        var leader = queue.TryGetProperty("leader", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;
        var online = queue.TryGetProperty("online", out var members) && members.ValueKind == JsonValueKind.Array
            ? members.EnumerateArray().Select(member => member.GetString()!).ToList()
            : [];
        return (leader, online);
    }

    private async Task ReleaseEpmdAsync(CancellationToken cancellationToken)
    {
        foreach (var node in Nodes)
        {
            await node.ReleaseEpmdAsync(cancellationToken);
        }
    }

    /// <summary>
    /// A blank node that found node 1 unreachable would boot as a cluster of its own and still report ready; this
    /// makes that a start failure instead of a surprise in a fault test.
    /// </summary>
    private async Task RequireOneClusterAsync(CancellationToken cancellationToken)
    {
        var expected = Nodes.Select(node => node.NodeName).Order(StringComparer.Ordinal).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var nodes = await Nodes[0].GetManagementAsync("nodes?columns=name,running", cancellationToken);
            var running = nodes.EnumerateArray()
                .Where(node => node.GetProperty("running").GetBoolean())
                .Select(node => node.GetProperty("name").GetString()!)
                .Order(StringComparer.Ordinal)
                .ToList();
            if (running.SequenceEqual(expected))
            {
                return;
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new LocalHubException(
                    $"RabbitMQ nodes {string.Join(", ", expected)} did not form one cluster; {Nodes[0].NodeName} sees {string.Join(", ", running)} running."
                    + $" Their logs: {string.Join(", ", Nodes.Select(node => node.LogPath))}");
            }
            await Task.Delay(200, cancellationToken);
        }
    }
}
