using System.Text.RegularExpressions;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// The lifecycle events' routing keys and topic permissions, read the way RabbitMQ reads them (an unanchored regex match
/// of the routing key when publishing, of the binding key when binding). The real broker's verdicts are in EndToEnd.Tests'
/// StatusEventForgeryTests.
/// </summary>
public sealed class StatusRoutesTests
{
    public static TheoryData<string> OperationServices => new(Queues.OperationServices);

    [Theory]
    [MemberData(nameof(OperationServices))]
    public void Write_AServiceUnderItsOwnNameOnly(string service)
    {
        foreach (var other in Catalogue.Names)
        {
            MayPublish(service, StatusRoutes.Key(other, service, "some-unit", "Delivered")).ShouldBe(other == service, other);
        }

        // A name that merely begins with the service's is another name.
        MayPublish(service, StatusRoutes.Key(service + "x", service, "some-unit", "Delivered")).ShouldBeFalse();
    }

    [Fact]
    public void Write_Ops_Nothing() =>
        Catalogue.Names.ShouldAllBe(name => !MayPublish("ops", StatusRoutes.Key(name, "child-health", "u", "Delivered")));

    [Theory]
    [MemberData(nameof(OperationServices))]
    public void Bind_AnOperationServiceToItsOwnMessagesEventsOnly(string service)
    {
        MayBind(service, StatusRoutes.Pattern(senderService: service, sendingUnit: "some-unit")).ShouldBeTrue();
        MayBind(service, StatusRoutes.Pattern(senderService: service)).ShouldBeTrue();
        foreach (var other in Catalogue.Names.Where(name => name != service))
        {
            MayBind(service, StatusRoutes.Pattern(senderService: other)).ShouldBeFalse(other);
        }

        foreach (var wide in new[] { "#", "*.#", "#.Delivered", StatusRoutes.Pattern(), StatusRoutes.Pattern(status: "Delivered"), $"*.{service}x.*.*" })
        {
            MayBind(service, wide).ShouldBeFalse(wide);
        }
    }

    [Theory]
    [InlineData("consent")]
    [InlineData("ops")]
    public void Bind_TheGateAndOpsToEveryEvent(string service) =>
        MayBind(service, StatusRoutes.Pattern(status: "Delivered")).ShouldBeTrue();

    [Theory]
    [InlineData("child-health.maternity-care.rosengard-mvc.Delivered", "child-health", "maternity-care", "rosengard-mvc", "Delivered")]
    [InlineData("consent.unknown.a.b.c.Refused", "consent", "unknown", "a.b.c", "Refused")]
    public void Parse_AKey_GivesItsParts(string key, string publisher, string senderService, string unit, string status) =>
        StatusRoutes.Parse(key).ShouldBe((publisher, senderService, unit, status));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("rosengard-bvc.Delivered")]
    [InlineData("a.b.Delivered")]
    [InlineData(".b.c.Delivered")]
    [InlineData("a..c.Delivered")]
    [InlineData("a.b..Delivered")]
    [InlineData("a.b.c.")]
    public void Parse_AKeyWithoutEveryPart_IsNull(string? key) =>
        StatusRoutes.Parse(key).ShouldBeNull();

    [Theory]
    [InlineData("consent", "Permitted", true)]
    [InlineData("consent", "Refused", true)]
    [InlineData("consent", "Conflict", true)]
    [InlineData("consent", "Delivered", false)]
    [InlineData("consent", "Acknowledged", false)]
    [InlineData("social-services", "Delivered", true)]
    [InlineData("social-services", "DeliveryFailed", true)]
    [InlineData("social-services", "Withdrawn", true)]
    [InlineData("social-services", "Acknowledged", true)]
    [InlineData("social-services", "Conflict", true)]
    [InlineData("social-services", "Permitted", false)]
    [InlineData("social-services", "Refused", false)]
    [InlineData("child-health", "Delivered", false)]
    [InlineData("child-health", "Acknowledged", false)]
    [InlineData("child-health", "Conflict", false)]
    [InlineData("social-services", "Submitted", false)]
    [InlineData("social-services", "Whatever", false)]
    public void MayPublish_ToAUnitOfSocialServices_TheGateItsDecisionsAndTheReceiverItsInbox(string publisher, string status, bool may) =>
        StatusRoutes.MayPublish(publisher, status, "social-services").ShouldBe(may);

    [Fact]
    public void MayPublish_AboutAnUnknownReceiver_OnlyTheGatesDecisions()
    {
        StatusRoutes.MayPublish("consent", "Refused", receiverService: null).ShouldBeTrue();
        StatusRoutes.MayPublish("social-services", "Delivered", receiverService: null).ShouldBeFalse();
    }

    private static bool MayPublish(string service, string routingKey) =>
        Regex.IsMatch(routingKey, StatusRoutes.PermissionOf(Catalogue.Named(service)).Write);

    private static bool MayBind(string service, string bindingKey) =>
        Regex.IsMatch(bindingKey, StatusRoutes.PermissionOf(Catalogue.Named(service)).Read);
}
