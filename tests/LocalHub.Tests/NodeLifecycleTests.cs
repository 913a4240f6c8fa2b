using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Tests;

public sealed class NodeLifecycleTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stop_StartedPrivateNodes_LeavesNoProcessOfTheirDirectoryRunning()
    {
        Assert.SkipWhen(PrivateNodes.Unavailable is not null, PrivateNodes.Unavailable ?? "");
        var directory = TestDirectories.Create("lifecycle");
        // An epmd another process started must outlive our nodes; one a parallel test of this process started is
        // stopped by this process when its last node stops, which may be ours.
        var othersEpmd = await Epmd.IsRunningAsync(Cancellation) && !Epmd.StartedHere;
        var rabbit = RabbitMqNode.Private(Path.Combine(directory, "rabbitmq"), FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
        var postgres = PostgresNode.Private(Path.Combine(directory, "postgres"), FreePorts.Next());
        try
        {
            await Task.WhenAll(rabbit.StartAsync(Cancellation), postgres.StartAsync(Cancellation));
            // The VM, the postmaster and its backends.
            UnixProcess.FindReferencing(directory).Count.ShouldBeGreaterThanOrEqualTo(3);
            var beam = rabbit.BeamPid.ShouldNotBeNull();
            var postmaster = postgres.PostmasterPid.ShouldNotBeNull();
            var backends = UnixProcess.Children(postmaster);
            backends.ShouldNotBeEmpty();

            await Task.WhenAll(rabbit.StopAsync(Cancellation), postgres.StopAsync(Cancellation));

            UnixProcess.FindReferencing(directory).ShouldBeEmpty();
            UnixProcess.IsAlive(beam).ShouldBeFalse();
            backends.Append(postmaster).ShouldAllBe(pid => !UnixProcess.IsAlive(pid));
            rabbit.BeamPid.ShouldBeNull();
            postgres.PostmasterPid.ShouldBeNull();
            if (othersEpmd)
            {
                // Shared with every other node on the machine: not ours to stop.
                (await Epmd.IsRunningAsync(Cancellation)).ShouldBeTrue();
            }
        }
        finally
        {
            // Cleanup must run even when the test was cancelled.
            await Task.WhenAll(rabbit.DiscardAsync(CancellationToken.None), postgres.KillAsync(CancellationToken.None));
            UnixFiles.DeleteDirectory(directory);
        }
    }
}
