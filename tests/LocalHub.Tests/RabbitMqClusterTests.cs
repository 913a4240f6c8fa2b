using System.Text;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.Tests.Support;
using RabbitMQ.Client;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// A private 3-node cluster for the tests that kill its nodes. It is recorded in a state file like a hub's and
/// stopped through that file, the way deploy/stop.sh and the sweep of abandoned hubs stop one, so every run also
/// checks that no node of a cluster outlives its cleanup.
/// </summary>
public sealed class RabbitMqClusterFixture : IAsyncLifetime
{
    private readonly string? directory;
    private readonly RabbitMqCluster? cluster;

    public RabbitMqClusterFixture()
    {
        if (PrivateNodes.Unavailable is not null)
        {
            return;
        }
        directory = TestDirectories.Create("cluster");
        cluster = RabbitMqCluster.Private(
            [.. Enumerable.Range(1, 3).Select(number => Path.Combine(directory, $"rabbitmq-{number}"))],
            [.. Enumerable.Range(1, 3).Select(_ => new RabbitMqPorts(FreePorts.Next(), FreePorts.Next(), FreePorts.Next()))]);
    }

    /// <summary>The cluster's directory; where private nodes cannot start, the test that asks is skipped, saying why.</summary>
    public string Directory => directory ?? PrivateNodesFixture.SkipTest<string>();

    public RabbitMqCluster Cluster => cluster ?? PrivateNodesFixture.SkipTest<RabbitMqCluster>();

    public async ValueTask InitializeAsync()
    {
        if (cluster is null)
        {
            return;
        }
        RecordState();
        await Cluster.StartAsync(TestContext.Current.CancellationToken);
        RecordState();
    }

    public async ValueTask DisposeAsync()
    {
        if (cluster is null)
        {
            return;
        }
        var vms = Cluster.Nodes.Select(node => (node.NodeName, Pid: node.BeamPid)).Where(vm => vm.Pid is not null).ToList();
        await HubStateCleanup.StopAsync(Directory, signalLiveOwner: false, log: null, CancellationToken.None);
        var survivors = vms.Where(vm => UnixProcess.IsAlive(vm.Pid!.Value)).Select(vm => vm.NodeName).ToList();
        // Lets go of epmd the way this process took it (a no-op for the nodes, which are gone by now).
        await Cluster.DiscardAsync(CancellationToken.None);
        UnixFiles.DeleteDirectory(Directory);
        if (survivors.Count > 0)
        {
            throw new InvalidOperationException($"Cleanup from the state file left {string.Join(", ", survivors)} running.");
        }
    }

    private void RecordState() =>
        (HubState.ForCurrentProcess() with
        {
            RabbitMqNodes = [.. Cluster.Nodes.Select(node => new RabbitMqState(node.Directory!, node.AmqpPort, node.ManagementPort, node.DistributionPort, node.StartedEpmd))],
            DeleteOnStop = [Directory],
        }).Write(Directory);
}

public sealed class RabbitMqClusterTests(RabbitMqClusterFixture fixture) : IClassFixture<RabbitMqClusterFixture>
{
    private const int Messages = 200;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private RabbitMqCluster Cluster => fixture.Cluster;

    private IEnumerable<string> NodeNames => Cluster.Nodes.Select(node => node.NodeName);

    [Fact]
    public async Task Start_ThreeBlankNodes_FormOneClusterWithAQuorumQueueMemberOnEveryNode()
    {
        var queue = $"replicated-{Guid.NewGuid():N}";

        // Through the last node's management API, with the seed's administrator: users are the cluster's.
        var nodes = await Cluster.Nodes[2].GetManagementAsync("nodes?columns=name,running", Cancellation);
        nodes.EnumerateArray().Where(node => node.GetProperty("running").GetBoolean()).Select(node => node.GetProperty("name").GetString())
            .ShouldBe(NodeNames, ignoreOrder: true);
        await Cluster.Nodes[1].DeclareQuorumQueueAsync("/", queue, Cancellation);

        // No x-quorum-initial-group-size: the broker's default (quorum_cluster_size, 3) is every node here.
        var state = await Cluster.Nodes[0].GetManagementAsync($"queues/%2F/{queue}", Cancellation);
        Members(state, "members").ShouldBe(NodeNames, ignoreOrder: true);
        (await Cluster.QueueLeaderAsync("/", queue, Cancellation)).ShouldBeOneOf([.. NodeNames]);
        await Cluster.Nodes[0].DeleteQueueAsync(queue);
    }

    [Fact]
    public async Task KillTheLeadersNode_ConfirmedMessages_AreAllConsumedFromTheOthersAndTheNodeRejoins()
    {
        await Cluster.StartAsync(Cancellation);
        var queue = $"leader-killed-{Guid.NewGuid():N}";
        var published = await PublishAsync(Cluster.Nodes[0], queue, "before");
        // RabbitMQ 3.10 registers a new quorum queue lazily: killed within about a second of the declaration, the
        // queue can come back without a leader. The crash this test is about comes later.
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        var leader = Cluster.Node(await Cluster.QueueLeaderAsync("/", queue, Cancellation));

        await leader.KillAsync(Cancellation);
        try
        {
            var successor = await Cluster.QueueLeaderAsync("/", queue, Cancellation);
            successor.ShouldNotBe(leader.NodeName);
            (await ConsumeAllAsync(Cluster.Node(successor), queue)).ShouldBe(published, ignoreOrder: true);
        }
        finally
        {
            await leader.StartAsync(Cancellation);
        }

        await WaitUntilOnlineEverywhereAsync(leader, queue);
        await Cluster.Nodes[0].DeleteQueueAsync(queue);
    }

    [Fact]
    public async Task KillAFollowersNode_Queue_TakesMessagesWhileItIsDownAndTheNodeRejoins()
    {
        await Cluster.StartAsync(Cancellation);
        var queue = $"follower-killed-{Guid.NewGuid():N}";
        var before = await PublishAsync(Cluster.Nodes[0], queue, "before");
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        var leader = Cluster.Node(await Cluster.QueueLeaderAsync("/", queue, Cancellation));
        var follower = Cluster.Nodes.First(node => node != leader);

        await follower.KillAsync(Cancellation);
        List<string> during;
        try
        {
            // Two of three members are a majority: the queue confirms as before, and keeps its leader.
            during = await PublishAsync(leader, queue, "during");
            (await Cluster.QueueLeaderAsync("/", queue, Cancellation)).ShouldBe(leader.NodeName);
        }
        finally
        {
            await follower.StartAsync(Cancellation);
        }

        await WaitUntilOnlineEverywhereAsync(follower, queue);
        (await ConsumeAllAsync(follower, queue)).ShouldBe([.. before, .. during], ignoreOrder: true);
        await Cluster.Nodes[0].DeleteQueueAsync(queue);
    }

    /// <summary>Declares the quorum queue and publishes persistent messages, each confirmed by the broker.</summary>
    private static async Task<List<string>> PublishAsync(RabbitMqNode node, string queue, string prefix)
    {
        var bodies = Enumerable.Range(0, Messages).Select(index => $"{prefix}-{index}").ToList();
        await using var connection = await RabbitMqNodeTests.ConnectAsync(node);
        await using var channel = await RabbitMqNodeTests.OpenConfirmingChannelAsync(connection);
        foreach (var body in bodies)
        {
            await RabbitMqNodeTests.PublishConfirmedAsync(channel, queue, body);
        }
        return bodies;
    }

    /// <summary>Every message in the queue, through a connection to <paramref name="node"/>.</summary>
    private static async Task<List<string>> ConsumeAllAsync(RabbitMqNode node, string queue)
    {
        await using var connection = await RabbitMqNodeTests.ConnectAsync(node);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Cancellation);
        var bodies = new List<string>();
        while (await channel.BasicGetAsync(queue, autoAck: true, Cancellation) is { } delivered)
        {
            bodies.Add(Encoding.UTF8.GetString(delivered.Body.Span));
        }
        return bodies;
    }

    /// <summary>
    /// Waits until the restarted node runs in the cluster again (its own management API sees all three) and its
    /// member of the queue is back online.
    /// </summary>
    private async Task WaitUntilOnlineEverywhereAsync(RabbitMqNode restarted, string queue)
    {
        var nodes = await restarted.GetManagementAsync("nodes?columns=name,running", Cancellation);
        nodes.EnumerateArray().Where(node => node.GetProperty("running").GetBoolean()).Select(node => node.GetProperty("name").GetString())
            .ShouldBe(NodeNames, ignoreOrder: true);
        await Eventually.MatchAsync(
            async () => Members(await restarted.GetManagementAsync($"queues/%2F/{queue}", Cancellation), "online"),
            online => online.Contains(restarted.NodeName), TimeSpan.FromSeconds(30),
            online => $"{restarted.NodeName}'s member of {queue} did not come back online; online: {string.Join(", ", online ?? [])}.",
            TimeSpan.FromMilliseconds(200), Cancellation);
    }

    private static IReadOnlyList<string?> Members(JsonElement queue, string property) =>
        [.. queue.GetProperty(property).EnumerateArray().Select(member => member.GetString())];
}

internal static class QueueCleanup
{
    /// <summary>Deletes a test queue with the administrator, so the cluster's next test starts clean.</summary>
    public static async Task DeleteQueueAsync(this RabbitMqNode node, string queue)
    {
        await using var connection = await RabbitMqNodeTests.ConnectAsync(node);
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(queue);
    }
}
