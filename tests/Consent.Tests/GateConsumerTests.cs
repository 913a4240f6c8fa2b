using Dapper;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.Topology;
using FamiljecentralHub.Tests.Support;
using MassTransit.Testing;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// The gate's consumers on the in-memory test harness, with a real ledger and consent store in PostgreSQL: what a
/// submission is decided, what the gate delivers and what it announces, without a whole hub.
/// </summary>
public sealed class GateConsumerTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly string FromChildHealth = Queues.SubmissionExchangeOf(Queues.ServiceFor(OperationType.ChildHealth));
    private static readonly string FromOpenPreschool = Queues.SubmissionExchangeOf(Queues.ServiceFor(OperationType.OpenPreschool));
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
        var (exchange, delivery) = (await DeliveriesAsync(d.MessageId)).ShouldHaveSingleItem();
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

    /// <summary>
    /// A compromised or faulty sending service writes what it likes into the ids the gate records: an identity number and a
    /// name as a unit the registry does not know, as the acting user, as the acting system. The ledger is append-only and
    /// its entries, the status event's routing key and Ops' views would keep them for good: the gate refuses and records
    /// fixed words in their place, and repeats none of it.
    /// </summary>
    [Theory]
    [InlineData("sending unit")]
    [InlineData("receiving unit")]
    [InlineData("acting user")]
    [InlineData("acting system")]
    public async Task Submit_WithAnIdentityNumberWhereAnIdBelongs_IsRefused_AndRecordedWithoutIt(string where)
    {
        const string Personal = "19121212-1212 Tolvan Tolvansson";
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social") with { ActingUser = "SE2321000016-BVC1" };
        d = where switch
        {
            "sending unit" => d with { SendingUnit = Personal },
            "receiving unit" => d with { ReceivingUnit = Personal },
            "acting user" => d with { ActingUser = Personal },
            _ => d with { ActingSystem = Personal },
        };

        await gate.SubmitAsync(d, FromChildHealth);

        var status = await StatusOf(d.MessageId);
        status.Status.ShouldBe(DisclosureStatus.Refused);
        Deliveries(d.MessageId).ShouldBeEmpty();
        await using var connection = await gate.Db.OpenConnectionAsync(TestContext.Current.CancellationToken);
        var recorded = await connection.QuerySingleAsync<string>("SELECT to_jsonb(l)::text FROM ledger l WHERE message_id = @MessageId", new { d.MessageId });
        recorded.ShouldNotContain("19121212", customMessage: "the ledger keeps it for good");
        recorded.ShouldNotContain("Tolvan");
        // The event's units make its routing key too.
        System.Text.Json.JsonSerializer.Serialize(status).ShouldNotContain("Tolvan");
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
        (await DeliveriesAsync(first.MessageId)).ShouldHaveSingleItem().Delivery.Disclosure.Content.ShouldBe(first.Content);
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
        (await DeliveriesAsync(d.MessageId, 2)).Select(sent => sent.Delivery.Basis).ShouldBe(["consent", "consent"]);
    }

    /// <summary>
    /// A service that guessed another unit's Idempotency-Key (a sequence, a time) can compute the id of that unit's next
    /// message. Submitting under it through its own way in, naming the other unit, must not take that id's decision:
    /// the true submission is decided and delivered when it comes.
    /// </summary>
    [Fact]
    public async Task Submit_ThroughAnotherOperationsWayIn_TakesNoDecision_AndTheTrueSubmissionIsStillDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = KeyedDisclosure("bvc", "social", "referral-0042");

        await gate.SubmitAsync(d with { Content = """{"forged":true}""" }, FromOpenPreschool);
        await gate.SubmitAsync(d, FromChildHealth);

        (await StatusOf(d.MessageId)).Status.ShouldBe(DisclosureStatus.Permitted);
        (await DeliveriesAsync(d.MessageId)).ShouldHaveSingleItem().Delivery.Disclosure.Content.ShouldBe(d.Content);
        (await LedgerOf(d.MessageId)).ShouldBe([("conflict", SubmitDisclosureConsumer.AnotherWayInReason), ("permitted", null)]);
        Announced(d.MessageId).ShouldBe([DisclosureStatus.Permitted], "the impostor is told to no status view");
    }

    /// <summary>
    /// The same guess, submitted for a unit of the impostor's own under the other unit's id, through its own way in:
    /// the id is not derived for its unit, so it takes no decision either.
    /// </summary>
    [Theory]
    [InlineData("its own key's digest")]
    [InlineData("the guessed key's digest")]
    [InlineData("no digest")]
    public async Task Submit_UnderAnIdDerivedForAnotherUnit_TakesNoDecision_AndTheTrueSubmissionIsStillDelivered(string digest)
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("forskola", "social"), TestContext.Current.CancellationToken);
        var d = KeyedDisclosure("bvc", "social", "referral-0043");
        var impostor = KeyedDisclosure("forskola", "social", "anything") with
        {
            MessageId = d.MessageId,
            KeyDigest = digest switch
            {
                "its own key's digest" => IdempotentMessageId.KeyDigest("anything"),
                "the guessed key's digest" => d.KeyDigest,
                _ => null,
            },
        };

        await gate.SubmitAsync(impostor, FromOpenPreschool);
        await gate.SubmitAsync(d, FromChildHealth);

        (await StatusOf(d.MessageId)).Status.ShouldBe(DisclosureStatus.Permitted);
        (await DeliveriesAsync(d.MessageId)).ShouldHaveSingleItem().Delivery.Disclosure.SendingUnit.ShouldBe("bvc");
        (await LedgerOf(d.MessageId)).ShouldBe([("conflict", SubmitDisclosureConsumer.IdNotTheSendersReason), ("permitted", null)]);
        Announced(d.MessageId).ShouldBe([DisclosureStatus.Permitted]);
    }

    /// <summary>After the true decision, an impostor under the same id changes nothing and tells the sender nothing.</summary>
    [Fact]
    public async Task Submit_ThroughAnotherOperationsWayIn_AfterTheTrueDecision_ChangesNothing()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = KeyedDisclosure("bvc", "social", "referral-0044");
        await gate.SubmitAsync(d, FromChildHealth);
        (await DeliveriesAsync(d.MessageId)).ShouldHaveSingleItem();

        await gate.SubmitAsync(d with { Content = """{"forged":true}""" }, FromOpenPreschool);

        await Eventually.MatchAsync(() => LedgerOf(d.MessageId), entries => entries.Count == 2, TimeSpan.FromSeconds(10),
            entries => $"{entries?.Count} ledger entries", cancellationToken: TestContext.Current.CancellationToken);
        (await LedgerOf(d.MessageId)).ShouldBe([("permitted", null), ("conflict", SubmitDisclosureConsumer.AnotherWayInReason)]);
        Announced(d.MessageId).ShouldBe([DisclosureStatus.Permitted], "no conflict is announced to the sender of the true message");
        Deliveries(d.MessageId).ShouldHaveSingleItem().Delivery.Disclosure.Content.ShouldBe(d.Content);
    }

    [Fact]
    public async Task Submit_UnderItsOwnKeyedId_IsDecided()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("forskola", "social"), TestContext.Current.CancellationToken);
        var d = KeyedDisclosure("forskola", "social", "k-1");

        await gate.SubmitAsync(d, FromOpenPreschool);

        (await StatusOf(d.MessageId)).Status.ShouldBe(DisclosureStatus.Permitted);
        (await DeliveriesAsync(d.MessageId)).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Redeliver_APermittedDeliveryThroughItsReceiversWayBack_IsDeliveredAgain()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = (await DeliveriesAsync((await StatusOf(d.MessageId)).MessageId)).ShouldHaveSingleItem().Delivery;

        await gate.RedeliverAsync(permitted with { Basis = "made-up" }, Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.PreventiveSocialServices)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldBeNull();
        Deliveries(d.MessageId).Count.ShouldBe(2);
        var (exchange, again) = Deliveries(d.MessageId).Last();
        exchange.AbsolutePath.ShouldEndWith(SocialServicesDeliveries);
        again.Basis.ShouldBe("consent"); // the ledger's, not the copy's
    }

    /// <summary>
    /// A redrive can come long after the decision: a permit on a consent is sent again only while that consent covers it.
    /// Another consent covering it now was not the basis the ledger recorded (revoking that one would not reach the
    /// delivery), so it does not stand in.
    /// </summary>
    [Fact]
    public async Task Redeliver_AfterItsConsentWasRevoked_IsRefused_EvenWhenAnotherConsentCoversItNow()
    {
        var first = TestOrganisation.ConsentFor("bvc", "social");
        await gate.Consents.AddVersionAsync(first, TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = (await DeliveriesAsync((await StatusOf(d.MessageId)).MessageId)).ShouldHaveSingleItem().Delivery;
        await gate.Consents.AddVersionAsync(first with { Version = 2, State = ConsentState.Revoked, RecordedAt = TestOrganisation.Now }, TestContext.Current.CancellationToken);
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);

        await gate.RedeliverAsync(permitted, Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.PreventiveSocialServices)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldNotBeNull();
        Deliveries(d.MessageId).Count.ShouldBe(1);
    }

    /// <summary>A report of concern is never blocked: its permit stands on the law as it was when the gate decided.</summary>
    [Fact]
    public async Task Redeliver_AMandatoryReport_StandsWhateverTheConsentsSayNow()
    {
        var d = TestOrganisation.Disclosure("bvc", "intake", Purpose.ReportOfConcern);
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = (await DeliveriesAsync((await StatusOf(d.MessageId)).MessageId)).ShouldHaveSingleItem().Delivery;
        await gate.Consents.AddVersionAsync(
            TestOrganisation.ConsentFor("bvc", "intake", Purpose.ReportOfConcern, grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.No)]),
            TestContext.Current.CancellationToken);

        await gate.RedeliverAsync(permitted, Queues.RedeliveryExchangeOf(Queues.ServiceFor(OperationType.SocialServicesIntake)));

        (await RedeliveryConsumed(d.MessageId)).Exception.ShouldBeNull();
        Deliveries(d.MessageId).Count.ShouldBe(2);
    }

    [Fact]
    public async Task Redeliver_ThroughAnotherServicesWayBack_IsRefusedAndNothingDelivered()
    {
        await gate.Consents.AddVersionAsync(TestOrganisation.ConsentFor("bvc", "social"), TestContext.Current.CancellationToken);
        var d = TestOrganisation.Disclosure("bvc", "social");
        await gate.SubmitAsync(d, FromChildHealth);
        var permitted = (await DeliveriesAsync((await StatusOf(d.MessageId)).MessageId)).ShouldHaveSingleItem().Delivery;

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
        var permitted = (await DeliveriesAsync((await StatusOf(d.MessageId)).MessageId)).ShouldHaveSingleItem().Delivery;

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

    private static SubmitDisclosure KeyedDisclosure(string from, string to, string key) => TestOrganisation.Disclosure(from, to) with
    {
        MessageId = IdempotentMessageId.For(from, key),
        KeyDigest = IdempotentMessageId.KeyDigest(key),
    };

    /// <summary>The statuses the gate announced for the message, once the bus has gone quiet.</summary>
    private List<DisclosureStatus> Announced(Guid messageId) =>
        [.. Harness.Published.Select<DisclosureStatusChanged>(m => m.Context.Message.MessageId == messageId).Select(m => m.Context.Message.Status)];

    /// <summary>The message's ledger entries in order: outcome and first reason (for conflicts only).</summary>
    private async Task<List<(string Outcome, string? Reason)>> LedgerOf(Guid messageId)
    {
        await using var connection = await gate.Db.OpenConnectionAsync(TestContext.Current.CancellationToken);
        return [.. await connection.QueryAsync<(string, string?)>(
            "SELECT outcome, CASE WHEN outcome = 'conflict' THEN reasons[1] END FROM ledger WHERE message_id = @messageId ORDER BY seq", new { messageId })];
    }

    /// <summary>The message's deliveries once there are <paramref name="count"/>, as the outbox sends them once the decision is in the ledger.</summary>
    private async Task<List<(Uri Exchange, DeliverDisclosure Delivery)>> DeliveriesAsync(Guid messageId, int count = 1) =>
        await Eventually.MatchAsync(() => Task.FromResult(Deliveries(messageId)), sent => sent.Count >= count, TimeSpan.FromSeconds(10),
            sent => $"{sent?.Count ?? 0} of {count} deliveries of {messageId}", TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken);

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
