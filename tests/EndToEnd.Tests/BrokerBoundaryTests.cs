using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Tests.Support;
using FamiljecentralHub.Topology;
using Npgsql;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using RabbitMQ.Client;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The secrecy boundary as the broker itself holds it, whatever a service's code does: connected with an operation
/// service's own broker credentials, as a compromised service would be, nothing reaches a delivery queue except from
/// the gate, and the gate's queue can be neither read nor removed. Every forged delivery is checked against the same
/// message sent with the gate's credentials, which does arrive: the forgery is well-formed, only its sender lacks the
/// right, so "never delivered" is not an accident of a malformed message.
/// </summary>
public sealed class BrokerBoundaryTests(HubFixture fixture)
{
    /// <summary>The service that plays the compromised one.</summary>
    private const string Intruder = "child-health";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("child-health")] // its own delivery exchange
    [InlineData("social-services")] // another service's
    public async Task Publish_OperationServiceToADeliveryExchange_IsRefusedAndNeverDelivered(string receiver)
    {
        var forged = Delivery(receiver);
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => PublishAsync(channel, $"deliveries.{receiver}", "", forged));

        await ShouldBeDeliveredOnlyThroughTheGateAsync(receiver, forged);
    }

    [Theory]
    [InlineData("child-health")]
    [InlineData("social-services")]
    public async Task Publish_OperationServiceToTheDefaultExchangeWithADeliveryQueuesName_IsRefusedAndNeverDelivered(string receiver)
    {
        var forged = Delivery(receiver);
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => PublishAsync(channel, "", $"{receiver}-deliveries", forged));

        await ShouldBeDeliveredOnlyThroughTheGateAsync(receiver, forged);
    }

    /// <summary>The way round a refused publish: bind its own delivery queue to an exchange it may publish to.</summary>
    [Fact]
    public async Task Bind_OperationServiceItsDeliveryQueueToAnExchangeItPublishesTo_IsRefused()
    {
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => channel.QueueBindAsync(
            // A binding key the topic permission allows: the refusal is for the queue.
            $"{Intruder}-deliveries", "hub.disclosure-status", StatusRoutes.Pattern(senderService: Intruder), cancellationToken: Ct));
        await ShouldBeRefusedAsync(connection, channel => channel.QueueBindAsync(
            $"{Intruder}-deliveries", $"submissions.{Intruder}", "", cancellationToken: Ct));
    }

    [Theory]
    [InlineData("consume")]
    [InlineData("get")]
    public async Task Read_OperationServiceFromAnotherServicesDeliveryQueue_IsRefused(string how)
    {
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => ReadAsync(channel, "social-services-deliveries", how));
    }

    [Theory]
    [InlineData("consume")]
    [InlineData("get")]
    [InlineData("purge")]
    [InlineData("delete")]
    public async Task ReadOrRemove_OperationServiceOnTheGatesQueue_IsRefused(string how)
    {
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => how switch
        {
            "purge" => channel.QueuePurgeAsync("consent-gate", Ct),
            "delete" => channel.QueueDeleteAsync("consent-gate", ifUnused: false, ifEmpty: false, cancellationToken: Ct),
            _ => ReadAsync(channel, "consent-gate", how),
        });
    }

    /// <summary>
    /// Deleting the revocation exchange would take every service's binding with it; the broker confirms a publish that
    /// reaches no queue, so each revocation would be recorded as announced and no receiver would withdraw anything. Nor
    /// may a service take its own queue off the exchange: the deployment binds it.
    /// </summary>
    [Theory]
    [InlineData("delete")]
    [InlineData("unbind its own queue")]
    public async Task Remove_OperationServiceTheRevocationExchangeOrItsBindings_IsRefused(string how)
    {
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => how == "delete"
            ? channel.ExchangeDeleteAsync(Queues.RevocationExchange, cancellationToken: Ct)
            : channel.QueueUnbindAsync(Queues.RevocationsOf(Intruder), Queues.RevocationExchange, "", cancellationToken: Ct));
    }

    /// <summary>
    /// Only the gate may put a message back through its redrive exchange: the gate trusts the way in stamped on what
    /// comes through it, which an operation service could otherwise forge.
    /// </summary>
    [Fact]
    public async Task Publish_OperationServiceToTheGatesRedriveExchange_IsRefused()
    {
        var forged = Delivery("child-health").Disclosure with { SendingUnit = DemoRequests.ChildHealthUnit };
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => RawAmqp.PublishAsync(
            channel, Queues.RedriveExchangeOf(Queues.Gate), "", forged, forged.MessageId, Ct,
            new Dictionary<string, object?> { [WayIn.Header] = Queues.SubmissionExchangeOf("child-health") }));
    }

    /// <summary>The gate's error queue holds whole messages from every operation; only the gate reads it.</summary>
    [Theory]
    [InlineData("get")]
    [InlineData("purge")]
    [InlineData("publish")]
    public async Task ReadOrWrite_OperationServiceOnTheGatesErrorQueue_IsRefused(string how)
    {
        var errors = Queues.ErrorQueueOf(Queues.Gate);
        await using var connection = await ConnectAsync(Intruder);

        await ShouldBeRefusedAsync(connection, channel => how switch
        {
            "purge" => channel.QueuePurgeAsync(errors, Ct),
            "publish" => RawAmqp.PublishAsync(channel, errors, "", Delivery("child-health").Disclosure, Guid.NewGuid(), Ct),
            _ => ReadAsync(channel, errors, how),
        });
    }

    [Fact]
    public async Task Read_GateFromADeliveryQueue_IsRefused()
    {
        await using var connection = await ConnectAsync("consent");

        await ShouldBeRefusedAsync(connection, channel => ReadAsync(channel, "social-services-deliveries", "consume"));
    }

    [Fact]
    public async Task Publish_OpsToTheStatusExchange_IsRefused()
    {
        await using var connection = await ConnectAsync("ops");

        var acknowledged = new DisclosureStatusChanged
        {
            MessageId = Guid.CreateVersion7(),
            Status = DisclosureStatus.Acknowledged,
            SendingUnit = DemoRequests.ChildHealthUnit,
            ReceivingUnit = DemoRequests.SocialServicesUnit,
            Purpose = Purpose.Referral,
            SubjectPseudonym = "forged",
            OccurredAt = DateTimeOffset.UtcNow,
        };

        await ShouldBeRefusedAsync(connection, channel => PublishAsync(channel, "hub.disclosure-status", DemoRequests.ChildHealthUnit, acknowledged));
    }

    [Fact]
    public async Task Publish_GateToADeliveryExchange_IsConfirmedAndDelivered()
    {
        var delivery = Delivery("social-services");
        await using var connection = await ConnectAsync("consent");
        await using var channel = await OpenConfirmingChannelAsync(connection);

        // Completes only once the broker has confirmed it; a mandatory message no queue took would throw instead.
        await PublishAsync(channel, "deliveries.social-services", "", delivery);

        await WaitForInboxAsync("social-services", delivery);
    }

    /// <summary>
    /// Sends a message of the same shape with the gate's credentials; once that one is in the receiver's inbox, the
    /// forged one (which the broker refused before it) must not be. The broker refuses a publish before routing it, so
    /// this is the end-to-end view of the refusal: no queue, no consumer, no inbox ever sees the message.
    /// </summary>
    private async Task ShouldBeDeliveredOnlyThroughTheGateAsync(string receiver, DeliverDisclosure forged)
    {
        var control = Delivery(receiver);
        await using (var connection = await ConnectAsync("consent"))
        await using (var channel = await OpenConfirmingChannelAsync(connection))
        {
            await PublishAsync(channel, $"deliveries.{receiver}", "", control);
        }

        await WaitForInboxAsync(receiver, control);
        using var client = fixture.Client(ClientOf(receiver));
        (await client.GetAsync(InboxItemPath(receiver, forged), Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    private async Task WaitForInboxAsync(string receiver, DeliverDisclosure delivery)
    {
        using var client = fixture.Client(ClientOf(receiver));
        await Eventually.TrueAsync(
            async () => (await client.GetAsync(InboxItemPath(receiver, delivery), Ct)).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), $"message {delivery.Disclosure.MessageId} never reached the {receiver} inbox", TimeSpan.FromMilliseconds(100), Ct);
    }

    /// <summary>
    /// A service may write only to its own way in, so the gate knows which service submitted: one that claims another
    /// operation's unit takes no decision, even where that unit could have shared without consent (MVC and BVC Rosengård
    /// are one care unit, so the same message from maternity care itself would be permitted). Nor does it take the id:
    /// a compromised child health that guessed maternity care's next Idempotency-Key and computed the id from it, then
    /// submitted under that id first (in maternity care's name, or in its own to maternity care, which one care unit
    /// would permit), cannot keep maternity care's true birth handover out, and maternity care's status view shows only
    /// its own message.
    /// </summary>
    [Theory]
    [InlineData("rosengard-mvc", DemoRequests.ChildHealthUnit)]
    [InlineData(DemoRequests.ChildHealthUnit, "rosengard-mvc")]
    public async Task Submit_ThroughItsOwnWayInUnderMaternityCaresNextId_TakesNoDecision_AndTheTrueHandoverIsDelivered(string sendingUnit, string receivingUnit)
    {
        var key = $"handover-{Guid.NewGuid():N}";
        var id = IdempotentMessageId.For("rosengard-mvc", key);
        var forged = Delivery("child-health").Disclosure with
        {
            MessageId = id,
            KeyDigest = IdempotentMessageId.KeyDigest(key),
            SendingUnit = sendingUnit,
            ReceivingUnit = receivingUnit,
            Purpose = Purpose.BirthHandover,
        };
        await using (var connection = await ConnectAsync(Intruder))
        await using (var channel = await OpenConfirmingChannelAsync(connection))
        {
            await PublishAsync(channel, $"submissions.{Intruder}", "", forged);
        }

        await Eventually.MatchAsync(() => LedgerAsync(id), entries => entries.Count > 0, TimeSpan.FromSeconds(30),
            entries => $"the gate never recorded the forged submission {id}", TimeSpan.FromMilliseconds(100), Ct);
        (await LedgerAsync(id)).ShouldBe(["conflict"], "recorded for review, without taking the id's decision");
        using var mvc = fixture.Client("mvc-ehr");
        (await mvc.GetAsync($"/maternity-care/units/rosengard-mvc/sent/{id}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/maternity-care/units/rosengard-mvc/birth-handovers")
        {
            Content = JsonContent.Create(new { receivingUnit = DemoRequests.ChildHealthUnit, subjectId = HubFixture.NewSubject(), newborn = "Frisk flicka, 3 600 g.", actingUser = "SE2321000016-MVC1" }),
        };
        request.Headers.Add("Idempotency-Key", key);
        var accepted = await mvc.SendAsync(request, Ct);
        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync(Ct));
        (await accepted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid().ShouldBe(id);

        var delivered = await HubFixture.WaitForStatusAsync(mvc, $"/maternity-care/units/rosengard-mvc/sent/{id}", "Delivered");
        delivered.GetProperty("receivingUnit").GetString().ShouldBe(DemoRequests.ChildHealthUnit);
        (await LedgerAsync(id)).ShouldBe(["conflict", "permitted", "delivered"]);
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        var item = await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{DemoRequests.ChildHealthUnit}/inbox/{id}", Ct);
        item.GetProperty("sendingUnit").GetString().ShouldBe("rosengard-mvc");
        (await mvc.GetAsync($"/maternity-care/units/rosengard-mvc/inbox/{id}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    /// <summary>The outcomes the ledger holds for the message, in order.</summary>
    private async Task<List<string>> LedgerAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(fixture.Hub.ConnectionString("consent"));
        return [.. await connection.QueryAsync<string>("SELECT outcome FROM ledger WHERE message_id = @messageId ORDER BY seq", new { messageId })];
    }

    /// <summary>Opens a fresh channel, runs the operation and expects the broker to close the channel with ACCESS_REFUSED.</summary>
    private static async Task ShouldBeRefusedAsync(IConnection connection, Func<IChannel, Task> operation)
    {
        await using var channel = await OpenConfirmingChannelAsync(connection);
        var refusal = await Should.ThrowAsync<OperationInterruptedException>(() => operation(channel));
        ((int)refusal.ShutdownReason.ShouldNotBeNull().ReplyCode).ShouldBe(Constants.AccessRefused, refusal.Message);
    }

    private Task<IConnection> ConnectAsync(string service) => RawAmqp.ConnectAsync(fixture.Hub, service, Ct);

    private static Task<IChannel> OpenConfirmingChannelAsync(IConnection connection) => RawAmqp.OpenConfirmingChannelAsync(connection, Ct);

    private static Task PublishAsync<T>(IChannel channel, string exchange, string routingKey, T message) =>
        RawAmqp.PublishAsync(channel, exchange, routingKey, message, message is DeliverDisclosure delivery ? delivery.Disclosure.MessageId : Guid.NewGuid(), Ct);

    private static async Task ReadAsync(IChannel channel, string queue, string how)
    {
        if (how == "get")
        {
            await channel.BasicGetAsync(queue, autoAck: false, Ct);
            return;
        }

        await channel.BasicConsumeAsync(queue, autoAck: false, new AsyncEventingBasicConsumer(channel), Ct);
    }

    /// <summary>A delivery as the gate makes it, to the receiver's demo unit, from a unit no other test follows.</summary>
    private static DeliverDisclosure Delivery(string receiver)
    {
        var now = DateTimeOffset.UtcNow;
        return new DeliverDisclosure
        {
            Disclosure = new SubmitDisclosure
            {
                MessageId = Guid.CreateVersion7(),
                SendingUnit = "rosengard-mvc",
                ReceivingUnit = UnitOf(receiver),
                Purpose = Purpose.Referral,
                Categories = [InformationCategory.FamilySituation],
                SubjectId = HubFixture.NewSubject(),
                Content = """{"reason":"Sent straight to the broker, past the gate."}""",
                ActingSystem = "mvc-ehr",
                SubmittedAt = now,
            },
            Basis = "same-secrecy-area",
            PermittedAt = now,
        };
    }

    private static string UnitOf(string service) => service switch
    {
        "child-health" => DemoRequests.ChildHealthUnit,
        "social-services" => DemoRequests.SocialServicesUnit,
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
    };

    private static string ClientOf(string service) => service switch
    {
        "child-health" => DemoRequests.ChildHealthClient,
        "social-services" => DemoRequests.SocialServicesClient,
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
    };

    private static string InboxItemPath(string receiver, DeliverDisclosure delivery) =>
        $"/{receiver}/units/{UnitOf(receiver)}/inbox/{delivery.Disclosure.MessageId}";
}
