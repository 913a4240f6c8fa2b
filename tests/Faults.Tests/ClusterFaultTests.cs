using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Faults.Tests;

public sealed class ClusterHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private, BrokerNodes = 3 }, FaultHub.Settle);

/// <summary>
/// Three RabbitMQ nodes on one machine, every queue a quorum queue with a member on each. The node that leads the gate's
/// queue is killed under the stream and restarted 10 s later: the other two elect new leaders, the services reconnect
/// to a live node, and nothing accepted is lost, duplicated or leaked.
/// </summary>
public sealed class ClusterFaultTests(ClusterHubFixture fixture, FaultResults results) : IClassFixture<ClusterHubFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GateQueueLeaderKilled_NothingLostDuplicatedOrLeaked()
    {
        var hub = fixture.Hub;
        RabbitMqNode? victim = null;
        var result = await FaultRun.RunAsync(
            hub, fixture.Pki, Fault.ClusterLeaderKilled,
            async ct =>
            {
                victim = await hub.QueueLeaderAsync("consent-gate", ct);
                await victim.KillAsync(ct);
            },
            TimeSpan.FromSeconds(10),
            ct => victim!.StartAsync(ct),
            Ct);
        results.Add(result);

        FaultAssertions.NothingLostDuplicatedOrLeaked(result);
        var acceptedDuringOutage = result.Submissions.Count(s => s.AcceptedAt > result.InjectedAt.AddSeconds(3) && s.AcceptedAt < result.HealedAt);
        TestContext.Current.TestOutputHelper?.WriteLine($"accepted while the node was down: {acceptedDuringOutage}");
    }
}
