using System.Text.RegularExpressions;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// The permission table read the way RabbitMQ reads it: a user may act on a queue or exchange when the name matches
/// the regex for that kind of access (unanchored match; the table anchors its own). The real broker's verdicts are in
/// EndToEnd.Tests' BrokerBoundaryTests; these say the same for every pair of services at once.
/// </summary>
public sealed class BrokerPermissionsTests
{
    private static readonly string[] OtherResources = ["amq.default", "amq.direct", "amq.fanout", "amq.topic", "amq.headers"];

    public static TheoryData<string> OperationServices => new(Queues.OperationServices);

    public static TheoryData<string> Services => new(Hub.ServiceNames);

    [Fact]
    public void For_EveryService_HasAnEntry() =>
        Hub.ServiceNames.ShouldAllBe(service => BrokerPermissions.ByService.ContainsKey(service));

    [Fact]
    public void For_UnknownService_Throws() =>
        Should.Throw<ArgumentException>(() => BrokerPermissions.For("gateway"));

    [Theory]
    [MemberData(nameof(OperationServices))]
    public void Write_OperationServiceOnAnyDeliveryExchangeOrQueue_IsDenied(string service)
    {
        foreach (var receiver in Queues.OperationServices)
        {
            MayWrite(service, Queues.DeliveryExchangeOf(receiver)).ShouldBeFalse(receiver);
            MayWrite(service, Queues.DeliveriesOf(receiver)).ShouldBeFalse(receiver);
        }
    }

    [Fact]
    public void Write_GateOnEveryDeliveryExchange_IsAllowed() =>
        Queues.OperationServices.ShouldAllBe(receiver => MayWrite("consent", Queues.DeliveryExchangeOf(receiver)));

    /// <summary>Binding a queue takes write on it: only the deployment binds the boundary queues.</summary>
    [Theory]
    [MemberData(nameof(Services))]
    public void Write_OnABoundaryQueue_IsDenied(string service) =>
        Queues.BoundaryBindings.ShouldAllBe(binding => !MayWrite(service, binding.Queue));

    [Theory]
    [MemberData(nameof(OperationServices))]
    public void Write_OperationServiceOnTheGate_OnlyThroughItsOwnSubmissionExchange(string service)
    {
        foreach (var sender in Queues.OperationServices)
        {
            MayWrite(service, Queues.SubmissionExchangeOf(sender)).ShouldBe(sender == service, sender);
        }

        MayWrite(service, Queues.Gate).ShouldBeFalse();
    }

    /// <summary>Consuming, getting and purging take read on the queue; deleting takes configure.</summary>
    [Theory]
    [MemberData(nameof(OperationServices))]
    public void ReadOrConfigure_OperationServiceOnTheGatesOrAnotherServicesQueue_IsDenied(string service)
    {
        string[] othersQueues =
        [
            Queues.Gate,
            .. Queues.OperationServices.Where(other => other != service).SelectMany(other => new[] { Queues.DeliveriesOf(other), Queues.StatusOf(other) }),
        ];

        othersQueues.ShouldAllBe(queue => !MayRead(service, queue) && !MayConfigure(service, queue));
    }

    [Theory]
    [MemberData(nameof(OperationServices))]
    public void Read_OperationServiceOnItsOwnDeliveryQueue_IsAllowed(string service) =>
        MayRead(service, Queues.DeliveriesOf(service)).ShouldBeTrue();

    [Fact]
    public void Read_GateOnAnyOperationServicesQueue_IsDenied() =>
        Queues.OperationServices.ShouldAllBe(service =>
            !MayRead("consent", Queues.DeliveriesOf(service)) && !MayRead("consent", Queues.StatusOf(service)) && !MayRead("consent", $"{service}-revocations"));

    [Fact]
    public void Write_Ops_OnlyOnItsOwnQueues_AndItsOperatorActionsOnTheStatusExchange()
    {
        string[] hubs = [Queues.RevocationExchange, Queues.Gate, .. Queues.BoundaryBindings.Select(binding => binding.Exchange)];

        hubs.ShouldAllBe(name => !MayWrite("ops", name));
        MayWrite("ops", "ops-flows").ShouldBeTrue();
        // The status exchange, for the operator actions on its own error queues, and under no other routing key.
        var topic = new Regex(StatusRoutes.PermissionOf(Catalogue.Named("ops")).Write);
        topic.IsMatch(StatusRoutes.OperatorActionKey("ops", "hub")).ShouldBeTrue();
        topic.IsMatch(StatusRoutes.OperatorActionKey("ops", "region-skane")).ShouldBeTrue();
        topic.IsMatch(StatusRoutes.Key("ops", "child-health", "rosengard-bvc", "Acknowledged")).ShouldBeFalse();
        topic.IsMatch(StatusRoutes.Key("ops", "operators", "hub", "Delivered")).ShouldBeFalse();
        topic.IsMatch(StatusRoutes.OperatorActionKey("consent", "hub")).ShouldBeFalse();
    }

    /// <summary>
    /// The redrive exchange vouches that a message is an error copy the gate put back, so that the way in stamped on the
    /// copy holds: only the gate may write to it, and nobody but the deployment may declare or delete it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Services))]
    public void WriteOrConfigure_OnTheGatesRedriveExchange_OnlyTheGateWrites(string service)
    {
        var redrive = Queues.RedriveExchangeOf(Queues.Gate);

        MayWrite(service, redrive).ShouldBe(service == "consent");
        MayConfigure(service, redrive).ShouldBeFalse();
    }

    /// <summary>
    /// Who may declare an exchange may delete it, and with it every binding of every service's queue: revocations, confirmed
    /// by the broker, would then reach no receiver. The deployment binds each operation service's revocations queue; only
    /// the gate, which publishes them, may declare the exchange, and no operation service may bind anything to it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Services))]
    public void ConfigureOrRead_TheRevocationExchange_OnlyTheGateDeclaresIt(string service)
    {
        MayConfigure(service, Queues.RevocationExchange).ShouldBe(service == "consent");
        MayRead(service, Queues.RevocationExchange).ShouldBeFalse();
        if (Queues.OperationServices.Contains(service))
        {
            Queues.DeploymentBindings.ShouldContain((Queues.RevocationExchange, Queues.RevocationsOf(service)));
        }
    }

    /// <summary>An error copy keeps the whole message; the way in stamped on it is trusted because only the gate writes there.</summary>
    [Theory]
    [MemberData(nameof(Services))]
    public void Access_ToTheGatesErrorQueue_IsTheGatesAlone(string service)
    {
        var errors = Queues.ErrorQueueOf(Queues.Gate);

        MayRead(service, errors).ShouldBe(service == "consent");
        MayWrite(service, errors).ShouldBe(service == "consent");
        MayConfigure(service, errors).ShouldBe(service == "consent");
    }

    /// <summary>
    /// An error copy goes back only through its owner's way: the exchange is the deployment's (nobody declares, deletes or
    /// binds from it), and only the service whose error queue it serves may write to it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Services))]
    public void Access_ToEveryWayBack_OnlyItsOwnerWrites(string service)
    {
        foreach (var owner in Queues.Services)
        {
            foreach (var wayBack in Queues.ReceiveQueuesOf(owner).Select(Queues.WayBackOf))
            {
                MayWrite(service, wayBack).ShouldBe(service == owner, wayBack);
                MayConfigure(service, wayBack).ShouldBeFalse(wayBack);
                MayRead(service, wayBack).ShouldBeFalse(wayBack);
            }
        }
    }

    /// <summary>A receiver's delivery goes back to the gate, which sends again only what it permitted; never straight to the queue.</summary>
    [Theory]
    [MemberData(nameof(OperationServices))]
    public void WayBack_OfADeliveryQueue_LeadsToTheGate(string service)
    {
        Queues.WayBackOf(Queues.DeliveriesOf(service)).ShouldBe(Queues.RedeliveryExchangeOf(service));
        Queues.BoundaryBindings.ShouldContain((Queues.RedeliveryExchangeOf(service), Queues.Redeliveries));
        Queues.RedriveBindings.ShouldNotContain(binding => binding.Queue == Queues.DeliveriesOf(service));
        MayWrite(service, Queues.RedriveExchangeOf(Queues.DeliveriesOf(service))).ShouldBeFalse();
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Write_OnTheDefaultOrABuiltInExchange_IsDenied(string service) =>
        OtherResources.ShouldAllBe(exchange => !MayWrite(service, exchange) && !MayConfigure(service, exchange));

    private static bool MayConfigure(string service, string name) => Regex.IsMatch(name, BrokerPermissions.For(service).Configure);

    private static bool MayWrite(string service, string name) => Regex.IsMatch(name, BrokerPermissions.For(service).Write);

    private static bool MayRead(string service, string name) => Regex.IsMatch(name, BrokerPermissions.For(service).Read);
}
