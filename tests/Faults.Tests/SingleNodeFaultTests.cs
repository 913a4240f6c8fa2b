using FamiljecentralHub.LocalHub;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>
/// Each fault of one broker, one database and the three services a referral passes through, injected under a steady
/// stream: after recovery nothing accepted is lost, nothing is duplicated, nothing reached a child's file without a
/// permit, and the gate decided every accepted referral exactly once.
/// </summary>
[Collection(SingleNodeHub.Name)]
public sealed class SingleNodeFaultTests(SingleNodeHubFixture fixture, FaultResults results)
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(8);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Hub Hub => fixture.Hub;

    [Fact]
    public Task BrokerStopApp() => RunAsync(Fault.BrokerStopApp, Hub.Rabbit.StopAppAsync, Hold, Hub.Rabbit.StartAppAsync);

    [Fact]
    public Task BrokerKilled() => RunAsync(Fault.BrokerKilled, Hub.Rabbit.KillAsync, TimeSpan.FromSeconds(2), Hub.Rabbit.StartAsync);

    [Fact]
    public Task BrokerFrozen() => RunAsync(Fault.BrokerFrozen, Hub.Rabbit.FreezeAsync, Hold, Hub.Rabbit.ThawAsync);

    [Fact]
    public Task SenderKilled() => RunAsync(Fault.SenderKilled, Hub.Services["child-health"].KillAsync, TimeSpan.FromSeconds(2), Hub.Services["child-health"].StartAsync);

    [Fact]
    public Task GateKilled() => RunAsync(Fault.GateKilled, Hub.Services["consent"].KillAsync, TimeSpan.FromSeconds(2), Hub.Services["consent"].StartAsync);

    [Fact]
    public Task ReceiverKilled() => RunAsync(Fault.ReceiverKilled, Hub.Services["social-services"].KillAsync, TimeSpan.FromSeconds(2), Hub.Services["social-services"].StartAsync);

    [Fact]
    public Task DatabaseStopped() => RunAsync(Fault.DatabaseStopped, Hub.Postgres.StopAsync, Hold, Hub.Postgres.StartAsync);

    private async Task RunAsync(string fault, Func<CancellationToken, Task> inject, TimeSpan hold, Func<CancellationToken, Task> heal)
    {
        var result = await FaultRun.RunAsync(Hub, fixture.Pki, fault, inject, hold, heal, Ct);
        results.Add(result);
        FaultAssertions.NothingLostDuplicatedOrLeaked(result);
    }
}

public static class FaultAssertions
{
    public static void NothingLostDuplicatedOrLeaked(FaultResult result)
    {
        var problems = string.Join("; ", result.Problems.Take(10));
        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        result.Accepted.ShouldBeGreaterThan(0);
        result.GaveUp.ShouldBe(0, "a client retrying with the same key gets every referral accepted once the hub recovers");
        result.Lost.ShouldBe(0, problems);
        result.Duplicated.ShouldBe(0, problems);
        result.Leaked.ShouldBe(0, problems);
        result.NotDecidedOnce.ShouldBe(0, problems);
        if (result.Revoked.Count == 0)
        {
            (result.Refused + result.Delivered).ShouldBe(result.Accepted, "every accepted referral was delivered or refused");
        }
    }
}
