using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using FamiljecentralHub.Topology;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Lifecycle events cannot be forged by another service: the broker holds each service to its own name in the routing
/// key and to its own messages' events when it binds, and the ledger, the sender's status view and Ops' trail take an
/// event only from the service that may say it, about a message it agrees with. Connected with open preschool's own
/// broker credentials, as a compromised service would be, about a referral from BVC to social services.
/// </summary>
public sealed class StatusEventForgeryTests(HubFixture hub)
{
    private const string Intruder = "open-preschool";
    private const string IntruderUnit = "rosengard-oppna-forskolan";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("social-services", "Acknowledged")] // the receiver's word
    [InlineData("consent", "Refused")] // the gate's
    public async Task Publish_UnderAnotherServicesName_IsRefusedByTheBroker(string publisher, string status)
    {
        await using var connection = await RawAmqp.ConnectAsync(hub.Hub, Intruder, Ct);
        var key = StatusRoutes.Key(publisher, "child-health", DemoRequests.ChildHealthUnit, status);

        await ShouldBeRefusedAsync(connection, channel => RawAmqp.PublishAsync(channel, Queues.StatusExchange, key, Event(Guid.CreateVersion7(), status), Guid.NewGuid(), Ct));
    }

    [Theory]
    [InlineData("#")]
    [InlineData("*.*.*.Delivered")]
    [InlineData("*.child-health.*.*")]
    public async Task Bind_ToOtherServicesMessagesEvents_IsRefusedByTheBroker(string pattern)
    {
        await using var connection = await RawAmqp.ConnectAsync(hub.Hub, Intruder, Ct);
        var queue = $"{Intruder}-listening-{Guid.NewGuid():N}";
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: Ct))
        {
            // Its own name: it may declare the queue, and bind it to its own messages' events (the control).
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: true, cancellationToken: Ct);
            await channel.QueueBindAsync(queue, Queues.StatusExchange, StatusRoutes.Pattern(senderService: Intruder), cancellationToken: Ct);
        }

        await ShouldBeRefusedAsync(connection, channel => channel.QueueBindAsync(queue, Queues.StatusExchange, pattern, cancellationToken: Ct));
    }

    /// <summary>
    /// Published under its own name, as the broker allows: once claiming its own unit received the message, once naming the
    /// true receiver. Neither may be taken: the first disagrees with the gate's decision, the second comes from a service
    /// that is not the receiver's. The receiver's own acknowledgement afterwards is the one recorded and shown.
    /// </summary>
    [Theory]
    [InlineData(IntruderUnit)]
    [InlineData(DemoRequests.SocialServicesUnit)]
    public async Task Acknowledged_ForgedUnderItsOwnName_IsNeitherRecordedNorShown(string claimedReceiver)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var submitted = await (await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = submitted.GetProperty("messageId").GetGuid();
        var statusUrl = submitted.GetProperty("statusUrl").GetString()!;
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        var forgedAt = DateTimeOffset.UtcNow.AddHours(-1);
        var forged = Event(messageId, "Acknowledged") with { ReceivingUnit = claimedReceiver, ActingSystem = "forged-system", OccurredAt = forgedAt };
        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, Intruder, Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            var key = StatusRoutes.Key(Intruder, "child-health", DemoRequests.ChildHealthUnit, "Acknowledged");
            await RawAmqp.PublishAsync(channel, Queues.StatusExchange, key, forged, Guid.NewGuid(), Ct);
        }

        var acknowledging = DateTimeOffset.UtcNow;
        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var status = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Acknowledged");
        status.GetProperty("acknowledgedAt").GetDateTimeOffset().ShouldBeGreaterThan(acknowledging.AddSeconds(-5), "the sender's view took the forged time");
        await Eventually.TrueAsync(async () => (await AcknowledgementsAsync(messageId)).Count > 0, TimeSpan.FromSeconds(30), "the ledger never recorded the acknowledgement", cancellationToken: Ct);
        var recorded = (await AcknowledgementsAsync(messageId)).ShouldHaveSingleItem();
        recorded.ShouldBe((DemoRequests.SocialServicesUnit, DemoRequests.SocialServicesClient), "the ledger recorded the forged acknowledgement");

        using var ops = hub.Client("ops-console");
        await Eventually.TrueAsync(async () => (await TrailAsync(ops, messageId)).Any(e => e.GetProperty("status").GetString() == "Acknowledged"),
            TimeSpan.FromSeconds(30), "Ops' trail never showed the acknowledgement", cancellationToken: Ct);
        var acknowledged = (await TrailAsync(ops, messageId)).Single(e => e.GetProperty("status").GetString() == "Acknowledged");
        acknowledged.GetProperty("receivingUnit").GetString().ShouldBe(DemoRequests.SocialServicesUnit, "Ops' trail took the forged acknowledgement");
    }

    /// <summary>
    /// The broker checks a topic permission on a publish to a topic exchange, not on a message that reaches the status
    /// exchange another way: through an exchange of the intruder's own bound to it, or dead-lettered into it from a queue
    /// of its own. Either carries whatever routing key the intruder chose, here the receiver's acknowledgement, with the
    /// true subject pseudonym and receiver. Only what was published to the status exchange itself is the broker's word.
    /// </summary>
    [Theory]
    [InlineData("bound exchange")]
    [InlineData("dead-lettered")]
    public async Task Acknowledged_UnderTheReceiversName_ByAWayRoundTheTopicPermissions_IsNeitherRecordedNorShown(string way)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var (messageId, statusUrl) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        var forgedAt = DateTimeOffset.UtcNow.AddHours(-1);
        var forged = Event(messageId, "Acknowledged") with
        {
            SubjectPseudonym = await PermittedSubjectAsync(messageId), ActingSystem = "forged-system", OccurredAt = forgedAt,
        };
        var key = StatusRoutes.Key("social-services", "child-health", DemoRequests.ChildHealthUnit, "Acknowledged");
        var own = $"{Intruder}-forge-{Guid.NewGuid():N}";
        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, Intruder, Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            if (way == "bound exchange")
            {
                await channel.ExchangeDeclareAsync(own, ExchangeType.Fanout, durable: false, autoDelete: false, cancellationToken: Ct);
                await channel.ExchangeBindAsync(destination: Queues.StatusExchange, source: own, routingKey: "", cancellationToken: Ct);
                await RawAmqp.PublishAsync(channel, own, key, forged, Guid.NewGuid(), Ct);
                await channel.ExchangeDeleteAsync(own, cancellationToken: Ct);
            }
            else
            {
                await channel.QueueDeclareAsync(own, durable: false, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?>
                {
                    ["x-dead-letter-exchange"] = Queues.StatusExchange,
                    ["x-dead-letter-routing-key"] = key,
                    ["x-message-ttl"] = 0,
                }, cancellationToken: Ct);
                // Into its own queue through an exchange of its own (no service may publish through the default exchange).
                await channel.ExchangeDeclareAsync(own, ExchangeType.Fanout, durable: false, autoDelete: false, cancellationToken: Ct);
                await channel.QueueBindAsync(own, own, "", cancellationToken: Ct);
                await RawAmqp.PublishAsync(channel, own, "", forged, Guid.NewGuid(), Ct);
                await Task.Delay(TimeSpan.FromSeconds(1), Ct);
                await channel.QueueDeleteAsync(own, cancellationToken: Ct);
                await channel.ExchangeDeleteAsync(own, cancellationToken: Ct);
            }
        }

        // Given time to be taken, as the true acknowledgement below is.
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        var acknowledging = DateTimeOffset.UtcNow;
        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var status = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Acknowledged");
        status.GetProperty("acknowledgedAt").GetDateTimeOffset().ShouldBeGreaterThan(acknowledging.AddSeconds(-5), "the sender's view took the forged time");
        await Eventually.TrueAsync(async () => (await AcknowledgementsAsync(messageId)).Count > 0, TimeSpan.FromSeconds(30), "the ledger never recorded the acknowledgement", cancellationToken: Ct);
        (await AcknowledgementsAsync(messageId)).ShouldBe([(DemoRequests.SocialServicesUnit, DemoRequests.SocialServicesClient)], "the ledger recorded the forged acknowledgement");

        using var ops = hub.Client("ops-console");
        await Eventually.TrueAsync(async () => (await TrailAsync(ops, messageId)).Any(e => e.GetProperty("status").GetString() == "Acknowledged"),
            TimeSpan.FromSeconds(30), "Ops' trail never showed the acknowledgement", cancellationToken: Ct);
        var acknowledged = (await TrailAsync(ops, messageId)).Single(e => e.GetProperty("status").GetString() == "Acknowledged");
        acknowledged.GetProperty("occurredAt").GetDateTimeOffset().ShouldBeGreaterThan(acknowledging.AddSeconds(-5), "Ops' trail took the forged acknowledgement");
    }

    /// <summary>
    /// Several events in one message travel under the first one's key, which the broker vouches for: the receiver of two
    /// referrals may acknowledge the first, but a second change that says something else (a withdrawal no revocation
    /// made) must not ride in under the key of the first. Each change is held to the key as if it had come alone.
    /// </summary>
    [Fact]
    public async Task SeveralEvents_AChangeThatDisagreesWithTheKey_IsNotTaken_AndTheOthersAre()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var (first, firstStatus) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        var (second, secondStatus) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        await HubFixture.WaitForStatusAsync(bvc, firstStatus, "Delivered");
        await HubFixture.WaitForStatusAsync(bvc, secondStatus, "Delivered");

        // As the receiving service would say them: the subject's pseudonym as the gate's permit has it.
        var events = new DisclosureStatusesChanged
        {
            Changes =
            [
                Event(first, "Acknowledged") with { SubjectPseudonym = await PermittedSubjectAsync(first), ActingSystem = DemoRequests.SocialServicesClient },
                Event(second, "Withdrawn") with { SubjectPseudonym = await PermittedSubjectAsync(second) },
            ],
        };
        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, "social-services", Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            var key = StatusRoutes.Key("social-services", "child-health", DemoRequests.ChildHealthUnit, "Acknowledged");
            await RawAmqp.PublishAsync(channel, Queues.StatusExchange, key, events, Guid.NewGuid(), Ct);
        }

        // The first is taken by all three: the sender's view, the ledger and Ops' trail.
        await HubFixture.WaitForStatusAsync(bvc, firstStatus, "Acknowledged");
        await Eventually.TrueAsync(async () => (await AcknowledgementsAsync(first)).Count > 0, TimeSpan.FromSeconds(30), "the ledger never recorded the acknowledgement", cancellationToken: Ct);
        using var ops = hub.Client("ops-console");
        await Eventually.TrueAsync(async () => (await TrailAsync(ops, first)).Any(e => e.GetProperty("status").GetString() == "Acknowledged"),
            TimeSpan.FromSeconds(30), "Ops' trail never showed the acknowledgement", cancellationToken: Ct);

        // The second is taken by none: the events of one message are written together, so by now it would have been.
        (await EntriesAsync(second, "withdrawal")).ShouldBe(0, "the ledger recorded a withdrawal under an acknowledgement's key");
        (await TrailAsync(ops, second)).ShouldNotContain(e => e.GetProperty("status").GetString() == "Withdrawn", "Ops' trail took it");
        (await bvc.GetFromJsonAsync<JsonElement>(secondStatus, Ct)).GetProperty("status").GetString().ShouldBe("Delivered", "the sender's view took it");
    }

    /// <summary>
    /// The receiving service may say a delivery was withdrawn, but what else its event carries is only its word: a reason
    /// and an acting system holding a name and an identity number, and a basis no catalogue knows, do not reach the
    /// append-only ledger, where they would stay for good, nor Ops' views. The withdrawal itself is recorded.
    /// </summary>
    [Fact]
    public async Task Withdrawn_WithFreeTextWhereFixedValuesBelong_IsRecordedAndShownWithoutIt()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var (messageId, statusUrl) = await HubFixture.SubmitConsentedReferralAsync(bvc);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");
        const string Personal = "19121212-1212 Tolvan Tolvansson";
        var said = Event(messageId, "Withdrawn") with
        {
            SubjectPseudonym = await PermittedSubjectAsync(messageId), ActingSystem = Personal, Reasons = [Personal], Basis = Personal,
        };
        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, "social-services", Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            var key = StatusRoutes.Key("social-services", "child-health", DemoRequests.ChildHealthUnit, "Withdrawn");
            await RawAmqp.PublishAsync(channel, Queues.StatusExchange, key, said, Guid.NewGuid(), Ct);
        }

        await Eventually.TrueAsync(async () => await EntriesAsync(messageId, "withdrawal") > 0, TimeSpan.FromSeconds(30),
            "the ledger never recorded the withdrawal", cancellationToken: Ct);
        await using var db = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        var entry = await db.QuerySingleAsync<string>("SELECT to_jsonb(l)::text FROM ledger l WHERE message_id = @messageId AND kind = 'withdrawal'", new { messageId });
        entry.ShouldNotContain("19121212");
        entry.ShouldNotContain("Tolvan");

        // Nor Ops' trail, which the console shows.
        using var ops = hub.Client("ops-console");
        await Eventually.TrueAsync(async () => (await TrailAsync(ops, messageId)).Any(e => e.GetProperty("status").GetString() == "Withdrawn"),
            TimeSpan.FromSeconds(30), "Ops' trail never showed the withdrawal", cancellationToken: Ct);
        var trail = string.Join("\n", (await TrailAsync(ops, messageId)).Select(e => e.ToString()));
        trail.ShouldNotContain("19121212");
        trail.ShouldNotContain("Tolvan");
    }

    private async Task<string> PermittedSubjectAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<string>(
            "SELECT subject_pseudonym FROM ledger WHERE message_id = @messageId AND outcome = 'permitted'", new { messageId }) ?? "";
    }

    private async Task<long> EntriesAsync(Guid messageId, string kind)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE message_id = @messageId AND kind = @kind", new { messageId, kind });
    }

    private async Task<List<(string ReceivingUnit, string ActingSystem)>> AcknowledgementsAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return [.. await connection.QueryAsync<(string, string)>(
            "SELECT receiving_unit, acting_system FROM ledger WHERE message_id = @messageId AND kind = 'acknowledgement'", new { messageId })];
    }

    private static async Task<List<JsonElement>> TrailAsync(HttpClient ops, Guid messageId) =>
        [.. (await ops.GetFromJsonAsync<JsonElement>($"/ops/messages/{messageId}", Ct)).EnumerateArray()];

    private static DisclosureStatusChanged Event(Guid messageId, string status) => new()
    {
        MessageId = messageId,
        Status = Enum.Parse<DisclosureStatus>(status),
        SendingUnit = DemoRequests.ChildHealthUnit,
        ReceivingUnit = DemoRequests.SocialServicesUnit,
        Purpose = Purpose.Referral,
        SubjectPseudonym = "forged",
        OccurredAt = DateTimeOffset.UtcNow,
    };

    /// <summary>Opens a fresh channel, runs the operation and expects the broker to close the channel with ACCESS_REFUSED.</summary>
    private static async Task ShouldBeRefusedAsync(IConnection connection, Func<IChannel, Task> operation)
    {
        await using var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct);
        var refusal = await Should.ThrowAsync<OperationInterruptedException>(() => operation(channel));
        ((int)refusal.ShutdownReason.ShouldNotBeNull().ReplyCode).ShouldBe(Constants.AccessRefused, refusal.Message);
    }
}
