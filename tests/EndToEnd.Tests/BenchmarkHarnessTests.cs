using FamiljecentralHub.LocalHub.Bench;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The performance harness (docs/benchmarks.md) on the shared hub, briefly: its figures are only worth reading if it
/// counts every referral it sent as received and acknowledged, refused, or lost, and reads CPU where the work is.
/// </summary>
public sealed class BenchmarkHarnessTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EndToEnd_AShortRun_AccountsForEveryReferralAndItsCost()
    {
        var benchmark = new EndToEndBenchmark(hub.Hub, hub.Pki, TextWriter.Null);

        // Children far from the ones other tests take (HubFixture.NewSubject), so no other consent decides these.
        var results = await benchmark.RunAsync(
            new EndToEndOptions([20], Runs: 1, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(2), Subjects: 20, RefusedShare: 0.25,
                Settle: TimeSpan.FromSeconds(60), FirstSubject: 300_000 + Random.Shared.Next(0, 100_000)),
            Ct);

        var run = results.ShouldHaveSingleItem();
        run.Sent.ShouldBe(80);
        run.Accepted.ShouldBe(80);
        run.Permitted.ShouldBe(60, "one referral in four is about a child without consent");
        run.Acknowledged.ShouldBe(60, "the receiver listed and acknowledged every permitted referral");
        run.Refused.ShouldBe(20, "the gate refused every referral without consent, as the sender's status view shows");
        run.Lost.ShouldBe(0);
        run.SeenLatency.P50.ShouldBeGreaterThan(0);
        run.AcknowledgedLatency.P50.ShouldBeGreaterThanOrEqualTo(run.SeenLatency.P50);
        run.DecidedLatency.P50.ShouldBeGreaterThan(0);
        run.CpuPerReferral["consent"].ShouldBeGreaterThan(0, "the gate's CPU is read from /proc");
        run.CpuPerReferral["gateway"].ShouldBeGreaterThan(0);
        run.CpuPerReferral[ProcessCpu.Machine].ShouldBeGreaterThan(0);
        run.SwitchesPerReferral.ShouldBeGreaterThan(0, "the machine's context switches are read from /proc/stat");
        benchmark.MemoryByRate[20]["consent"].ShouldBeGreaterThan(10, "the gate's resident memory in MiB");
    }
}
