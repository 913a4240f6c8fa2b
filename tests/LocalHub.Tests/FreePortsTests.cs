using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Tests;

public sealed class FreePortsTests
{
    [Fact]
    public void Next_CalledRepeatedly_ReturnsDistinctBindablePortsOutsideTheEphemeralRange()
    {
        var ports = Enumerable.Range(0, 50).Select(_ => FreePorts.Next()).ToList();

        ports.ShouldBeUnique();
        ports.ShouldAllBe(port => port >= 20000 && port < 32768 && port != 25672);
        ports.ShouldAllBe(port => FreePorts.IsFree(port));
    }
}
