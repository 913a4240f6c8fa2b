using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.Topology;
using MassTransit.Testing;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// The gate's consumers on the in-memory test harness, with a real ledger and consent store in PostgreSQL: what a
/// submission is decided, what the gate delivers and what it announces, without a whole hub.
/// </summary>
public sealed class GateConsumerTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly string FromChildHealth = Queues.SubmissionExchangeOf(Queues.ServiceFor(OperationType.ChildHealth));
    private static readonly string SocialServicesDeliveries = Queues.DeliveryExchangeOf(Queues.ServiceFor(OperationType.PreventiveSocialServices));

    private GateHarness gate = null!;

    private ITestHarness Harness => gate.Harness;

    public async ValueTask InitializeAsync() => gate = await GateHarness.StartAsync(await postgres.NewDatabaseAsync(), TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        var db = gate.Db;
        await gate.DisposeAsync();
        await db.DisposeAsync();
    }

    [Fact]
    public async Task Submit_WithACoveringConsent_IsPermittedAndDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");

        await gate.SubmitAsync(d, FromChildHealth);

        (await StatusOf(d.MessageId)).Status.ShouldBe(DisclosureStatus.Permitted);
        var (exchange, delivery) = Deliveries(d.MessageId).ShouldHaveSingleItem();
        exchange.AbsolutePath.ShouldEndWith(SocialServicesDeliveries);
        delivery.Basis.ShouldBe("consent");
        SubmissionDigest.Of(delivery.Disclosure).ShouldBe(SubmissionDigest.Of(d));
    }

    [Fact]
    public async Task Submit_WithoutAConsent_IsRefusedAndNothingDelivered()
    {
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var status = await StatusOf(d.MessageId);
        status.Status.ShouldBe(DisclosureStatus.Refused);
        status.Reasons.ShouldNotBeEmpty();
        Deliveries(d.MessageId).ShouldBeEmpty();
    }

    /// <summary>Issue 10: a decision is bound to the submission it decided; another body under the same id is a conflict.</summary>
    [Fact]
    public async Task Submit_AnIdAlreadyDecidedWithAnotherBody_IsAConflictAndNothingMoreDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var first = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(first, FromChildHealth);
        (await StatusOf(first.MessageId)).Status.ShouldBe(DisclosureStatus.Permitted);

        await gate.SubmitAsync(first with { Content = """{"other":"body"}""" }, FromChildHealth);

        var conflict = await StatusOf(first.MessageId, DisclosureStatus.Conflict);
        conflict.Reasons.ShouldBe([SubmitDisclosureConsumer.ConflictReason]);
        Deliveries(first.MessageId).ShouldHaveSingleItem().Delivery.Disclosure.Content.ShouldBe(first.Content);
    }

    /// <summary>A redelivery of the very submission decided is delivered again, with the same decision.</summary>
    [Fact]
    public async Task Submit_TheSameSubmissionAgain_GetsTheSameDecision()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        await StatusOf(d.MessageId);

        await gate.SubmitAsync(d, FromChildHealth);

        var decided = Harness.GetConsumerHarness<SubmitDisclosureConsumer>().Consumed.SelectAsync<SubmitDisclosure>(TestContext.Current.CancellationToken);
        (await AsyncEnumerable.CountAsync(AsyncEnumerable.Take(decided, 2), TestContext.Current.CancellationToken)).ShouldBe(2);
        var statuses = Harness.Published.SelectAsync<DisclosureStatusChanged>(m => m.Context.Message.MessageId == d.MessageId, TestContext.Current.CancellationToken);
        (await AsyncEnumerable.ToListAsync(AsyncEnumerable.Take(statuses, 2), TestContext.Current.CancellationToken))
            .Select(m => m.Context.Message.Status).ShouldBe([DisclosureStatus.Permitted, DisclosureStatus.Permitted]);
        Deliveries(d.MessageId).Select(sent => sent.Delivery.Basis).ShouldBe(["consent", "consent"]);
    }

    [Fact]
    public async Task Submit_ThroughAnotherOperationsWayIn_IsRefusedAndNothingDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");

        await gate.SubmitAsync(d, Queues.SubmissionExchangeOf(Queues.ServiceFor(OperationType.OpenPreschool)));

        (await StatusOf(d.MessageId)).Reasons.ShouldBe(["submitted through another operation's way in"]);
        Deliveries(d.MessageId).ShouldBeEmpty();
    }

    [Fact]
    public async Task Redeliver_APermittedDeliveryThroughItsReceiversWayBack_IsDeliveredAgain()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = Deliveries((await StatusOf(d.MessageId)).MessageId).ShouldHaveSingleItem().Delivery;

        await gate.RedeliverAsync(permitted with { Basis = "made-up" }, Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.PreventiveSocialServices)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldBeNull();
        Deliveries(d.MessageId).Count.ShouldBe(2);
        var (exchange, again) = Deliveries(d.MessageId).Last();
        exchange.AbsolutePath.ShouldEndWith(SocialServicesDeliveries);
        again.Basis.ShouldBe("consent"); // the ledger's, not the copy's
    }

    [Fact]
    public async Task Redeliver_ThroughAnotherServicesWayBack_IsRefusedAndNothingDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = Deliveries((await StatusOf(d.MessageId)).MessageId).ShouldHaveSingleItem().Delivery;

        await gate.RedeliverAsync(permitted, Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.OpenPreschool)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldNotBeNull();
        Deliveries(d.MessageId).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Redeliver_WithAnAlteredBody_IsRefusedAndNothingDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = Deliveries((await StatusOf(d.MessageId)).MessageId).ShouldHaveSingleItem().Delivery;

        await gate.RedeliverAsync(
            permitted with { Disclosure = d with { Content = """{"altered":true}""" } },
            Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.PreventiveSocialServices)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldNotBeNull();
        Deliveries(d.MessageId).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Redeliver_OfADeliveryTheGateNeverPermitted_IsRefusedAndNothingDelivered()
    {
        var d = TestOrganisation.Disclosure("bvc", "social");
        var forged = new DeliverDisclosure { Disclosure = d, Basis = "consent", PermittedAt = TestOrganisation.Now };

        await gate.RedeliverAsync(forged, Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.PreventiveSocialServices)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldNotBeNull();
        Deliveries(d.MessageId).ShouldBeEmpty();
    }

    /// <summary>The first status the gate announced for the message that is <paramref name="status"/> (any, when null).</summary>
    /// <remarks>
    /// Only the harness's asynchronous selections return at the first match: its synchronous ones wait for the bus to be
    /// inactive for the harness's whole inactivity timeout.
    /// </remarks>
    private async Task<DisclosureStatusChanged> StatusOf(Guid messageId, DisclosureStatus? status = null)
    {
        await foreach (var published in Harness.Published.SelectAsync<DisclosureStatusChanged>(
            m => m.Context.Message.MessageId == messageId && (status is null || m.Context.Message.Status == status), TestContext.Current.CancellationToken))
        {
            return published.Context.Message;
        }

        throw new TimeoutException($"no status {status} for {messageId}");
    }

    private List<(Uri Exchange, DeliverDisclosure Delivery)> Deliveries(Guid messageId) =>
        [.. gate.Deliveries.Where(sent => sent.Delivery.Disclosure.MessageId == messageId)];

    private async Task<IReceivedMessage<DeliverDisclosure>> RedeliveryConsumed(Guid messageId)
    {
        await foreach (var consumed in Harness.GetConsumerHarness<RedeliverDisclosureConsumer>().Consumed.SelectAsync<DeliverDisclosure>(
            m => m.Context.Message.Disclosure.MessageId == messageId, TestContext.Current.CancellationToken))
        {
            return consumed;
        }

        throw new TimeoutException($"the redelivery of {messageId} was not consumed");
    }
}
