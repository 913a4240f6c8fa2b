using FamiljecentralHub.LocalHub.Bench;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// bench-transport (issue 16, S2) must not hide loss: a fast figure from a client that dropped or repeated messages
/// would be worse than none. Short windows on the private test node, every client at two in-flight counts.
/// </summary>
[Collection(PrivateNodesCollection.Name)]
public sealed class TransportBenchmarkTests(PrivateNodesFixture nodes)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(TransportClient.RabbitMqClient, 1)]
    [InlineData(TransportClient.RabbitMqClient, 8)]
    [InlineData(TransportClient.MassTransit, 1)]
    [InlineData(TransportClient.MassTransit, 8)]
    [InlineData(TransportClient.MassTransitWithHubFilters, 8)]
    public async Task RunAsync_OneSecondWindows_ConsumesEveryConfirmedMessageExactlyOnce(TransportClient client, int inFlight)
    {
        var virtualHost = $"bench-{Guid.NewGuid():N}";
        await nodes.Rabbit.CreateVirtualHostAsync(virtualHost, Cancellation);
        await nodes.Rabbit.SetPermissionsAsync(virtualHost, nodes.Rabbit.AdminUser, RabbitMqNodeTests.AllRights, Cancellation);
        try
        {
            var bench = new TransportBenchmark(
                new BrokerTarget(nodes.Rabbit.Host, nodes.Rabbit.AmqpPort, virtualHost, nodes.Rabbit.AdminUser, nodes.Rabbit.AdminPassword),
                () => nodes.Rabbit.BeamPid, TextWriter.Null);

            var result = await bench.RunAsync(client, inFlight, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 1024, Cancellation);

            result.Published.ShouldBeGreaterThan(0);
            result.PublishFailures.ShouldBe(0);
            result.Duplicates.ShouldBe(0);
            result.Lost.ShouldBe(0);
            result.Consumed.ShouldBe(result.Published);
            result.ExactlyOnce.ShouldBeTrue();
            result.Measured.ShouldBeGreaterThan(0);
            result.BrokerCpuMicros.ShouldNotBeNull();
            // The bare client's body is the probe itself: about the size asked for.
            if (client == TransportClient.RabbitMqClient)
            {
                result.WireBytes.ShouldBeInRange(1000, 1050);
            }
        }
        finally
        {
            await nodes.Rabbit.DeleteVirtualHostAsync(virtualHost, CancellationToken.None);
        }
    }

    [Fact]
    public async Task RunAsync_UntilConsumed_LeavesNothingQueuedAndLosesNothing()
    {
        var virtualHost = $"bench-{Guid.NewGuid():N}";
        await nodes.Rabbit.CreateVirtualHostAsync(virtualHost, Cancellation);
        await nodes.Rabbit.SetPermissionsAsync(virtualHost, nodes.Rabbit.AdminUser, RabbitMqNodeTests.AllRights, Cancellation);
        try
        {
            var bench = new TransportBenchmark(
                new BrokerTarget(nodes.Rabbit.Host, nodes.Rabbit.AmqpPort, virtualHost, nodes.Rabbit.AdminUser, nodes.Rabbit.AdminPassword),
                () => nodes.Rabbit.BeamPid, TextWriter.Null);

            var result = await bench.RunAsync(TransportClient.RabbitMqClient, 8, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 1024, Cancellation, untilConsumed: true);

            result.ExactlyOnce.ShouldBeTrue();
            result.Measured.ShouldBeGreaterThan(0);
            // At most one message per publisher is between its publish and its consumption.
            result.Backlog.ShouldBeLessThanOrEqualTo(8);
        }
        finally
        {
            await nodes.Rabbit.DeleteVirtualHostAsync(virtualHost, CancellationToken.None);
        }
    }

    [Fact]
    public void Tally_SkippedAndRepeatedSequences_CountsTheLostAndTheDuplicate()
    {
        var tally = new ProbeTally();
        var disclosure = TransportBenchmark.Referral(1024);
        foreach (var sequence in new long[] { 1, 2, 2, 4, 70_000 })
        {
            tally.Record(new TransportProbe { Sequence = sequence, SentAt = 0, Disclosure = disclosure }, 1024);
        }

        tally.Consumed.ShouldBe(4);
        tally.Duplicates.ShouldBe(1);
        // 3 and everything from 5 to 69 999 never came; 5 was not confirmed, so it is not owed.
        tally.Missing(70_000, [5]).ShouldBe(70_000 - 4 - 1);
        tally.ConsumedAmong([4, 5]).ShouldBe(1);
    }
}
