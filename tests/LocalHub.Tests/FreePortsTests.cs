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

public sealed class BrokerPermissionsTests
{
    [Fact]
    public void For_EveryService_HasAnEntry() =>
        Hub.ServiceNames.ShouldAllBe(service => BrokerPermissions.ByService.ContainsKey(service));

    [Fact]
    public void For_UnknownService_Throws() =>
        Should.Throw<ArgumentException>(() => BrokerPermissions.For("gateway"));
}
