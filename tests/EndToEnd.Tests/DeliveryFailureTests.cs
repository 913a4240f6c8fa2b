using System.Globalization;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client.Exceptions;
using RabbitMQ.Client;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// No message waits unseen (issue 10): a delivery the receiving service cannot store is parked in that service's error
/// queue, its sender sees it failed instead of "Permitted" forever, the receiver's operator lists it by metadata and
/// redrives it through the gate, and whatever the database said about it reaches no log and no error copy.
/// </summary>
public sealed class DeliveryFailureTests(HubFixture hub)
{
    private const string Receiver = "social-services";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Pseudonymizer Pseudonyms { get; } = new(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey }));

    [Fact]
    public async Task Delivery_ThatFaultsForGoodAtTheReceiver_ShowsDeliveryFailed_IsListed_AndRedriveDeliversItOnce()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var constraint = await PoisonInboxAsync(subject);

        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = body.GetProperty("messageId").GetGuid();
        var statusUrl = body.GetProperty("statusUrl").GetString()!;

        // About 18 s of retries, then the error queue: the sender sees that, not "Permitted" for ever.
        var failed = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "DeliveryFailed", TimeSpan.FromSeconds(90));
        failed.GetProperty("reasons").EnumerateArray().ShouldNotBeEmpty();

        var listing = await ErrorsAsync();
        TestContext.Current.TestOutputHelper?.WriteLine(listing.Output);
        listing.ExitCode.ShouldBe(0, listing.Output);
        var line = Listed(listing, messageId);
        line["queue"].ShouldBe($"{Receiver}-deliveries_error");
        line["type"].ShouldBe("DeliverDisclosure");
        line["sending-unit"].ShouldBe(DemoRequests.ChildHealthUnit);
        line["receiving-unit"].ShouldBe(DemoRequests.SocialServicesUnit);
        line["purpose"].ShouldBe("Referral");
        line["subject"].ShouldBe(Pseudonyms.For(subject));
        line["reason"].ShouldBe("Npgsql.PostgresException: SQLSTATE 23514 CheckViolation");
        listing.Output.ShouldNotContain(subject);
        listing.Output.ShouldNotContain(constraint, Case.Insensitive);
        listing.Output.ShouldNotContain("önskar stöd", Case.Insensitive);

        await CureAsync(constraint);
        var redrive = await ErrorsAsync("redrive", messageId.ToString());
        redrive.ExitCode.ShouldBe(0, redrive.Output);
        var delivered = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered", TimeSpan.FromSeconds(60));
        delivered.GetProperty("basis").GetString().ShouldBe("consent");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // The ledger and the sender's status view each consume the Delivered event on their own queue: the sender can
        // see it a moment before the ledger has recorded it.
        await Eventually.MatchAsync(() => LedgerEntriesAsync(messageId, "delivery"), count => count > 0, TimeSpan.FromSeconds(15),
            count => $"the ledger recorded no delivery ({count})", cancellationToken: Ct);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        (await LedgerEntriesAsync(messageId, "delivery")).ShouldBe(1, "delivered once, redrive included");
        (await LedgerEntriesAsync(messageId, "decision")).ShouldBe(1);
        var after = await ErrorsAsync();
        after.Output.ShouldNotContain($"message-id={messageId}");
    }

    /// <summary>
    /// A redrive can come long after the decision: the gate decides the message again as things stand now, so one whose
    /// consent has ended since is not delivered, however its ledger permitted it then.
    /// </summary>
    [Fact]
    public async Task Redrive_AfterTheConsentHasEnded_DeliversNothing()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var ends = DateTimeOffset.UtcNow.AddSeconds(45);
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow), JsonSerializerOptions.Web)!.AsObject();
        consent["validUntil"] = ends;
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var constraint = await PoisonInboxAsync(subject);
        var submitted = await (await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = submitted.GetProperty("messageId").GetGuid();
        var statusUrl = submitted.GetProperty("statusUrl").GetString()!;
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "DeliveryFailed", TimeSpan.FromSeconds(90));

        await CureAsync(constraint);
        var wait = ends - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, Ct);
        }

        (await ErrorsAsync("redrive", messageId.ToString())).ExitCode.ShouldBe(0);
        // Long enough for a redrive to be delivered (the test above sees it within seconds); the gate's retries then park it.
        await Task.Delay(TimeSpan.FromSeconds(15), Ct);
        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bvc.GetFromJsonAsync<JsonElement>(statusUrl, Ct)).GetProperty("status").GetString().ShouldBe("DeliveryFailed");
        (await LedgerEntriesAsync(messageId, "delivery")).ShouldBe(0);
    }

    /// <summary>
    /// The receiver's redrive goes back through the gate, which sends again only what its ledger permitted: a receiver
    /// cannot use its redrive way to put a message into its own inbox, nor into another service's.
    /// </summary>
    [Fact]
    public async Task Redelivery_OfADeliveryTheGateNeverPermitted_NeverReachesTheInbox()
    {
        var forged = Delivery(HubFixture.NewSubject(), """{"reason":"Forged by the receiver itself."}""");
        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, Receiver, Ct))
        {
            await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
            {
                await RawAmqp.PublishAsync(channel, $"redeliveries.{Receiver}", "", forged, forged.Disclosure.MessageId, Ct,
                    new Dictionary<string, object?> { [WayIn.Header] = $"deliveries.{Receiver}" });
            }

            // Not through another service's way back.
            await using var other = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct);
            var refusal = await Should.ThrowAsync<OperationInterruptedException>(() =>
                RawAmqp.PublishAsync(other, "redeliveries.child-health", "", forged, forged.Disclosure.MessageId, Ct));
            ((int)refusal.ShutdownReason.ShouldNotBeNull().ReplyCode).ShouldBe(Constants.AccessRefused);
        }

        // The gate parks what it will not send again, for its operator to see.
        var output = await Eventually.MatchAsync(
            async () => (await hub.Hub.Services["consent"].RunCommandAsync(["errors"], TimeSpan.FromMinutes(2), Ct)).Output,
            errors => errors.Contains($"message-id={forged.Disclosure.MessageId}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), _ => "the gate never parked the forged redelivery", TimeSpan.FromSeconds(1), Ct);

        output.ShouldContain("consent-redeliveries_error");
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        (await social.GetAsync($"{DemoRequests.InboxPath}/{forged.Disclosure.MessageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// A receiver holds the whole message it was permitted, so it could put it back on its way to the gate with the same
    /// id, units, purpose, subject and categories and other content. The gate compares the submission's digest with the
    /// one its permit was given for, and parks the altered copy instead of sending it again.
    /// </summary>
    [Fact]
    public async Task Redelivery_OfAPermittedMessageWithAlteredContent_IsParkedByTheGate()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var submitted = await (await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        await HubFixture.WaitForStatusAsync(bvc, submitted.GetProperty("statusUrl").GetString()!, "Delivered");
        var messageId = submitted.GetProperty("messageId").GetGuid();
        var item = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}/{messageId}", Ct);
        var altered = new DeliverDisclosure
        {
            Disclosure = new SubmitDisclosure
            {
                MessageId = messageId,
                SendingUnit = DemoRequests.ChildHealthUnit,
                ReceivingUnit = DemoRequests.SocialServicesUnit,
                Purpose = Purpose.Referral,
                Categories = [.. item.GetProperty("categories").EnumerateArray().Select(c => Enum.Parse<InformationCategory>(c.GetString()!))],
                SubjectId = subject,
                Content = """{"reason":"Altered by the receiver on its way back."}""",
                ActingSystem = DemoRequests.ChildHealthClient,
                ActingUser = "SE2321000016-BVC1",
                SubmittedAt = item.GetProperty("submittedAt").GetDateTimeOffset(),
            },
            Basis = "consent",
            PermittedAt = DateTimeOffset.UtcNow,
        };

        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, Receiver, Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            await RawAmqp.PublishAsync(channel, $"redeliveries.{Receiver}", "", altered, messageId, Ct);
        }

        var output = await Eventually.MatchAsync(
            async () => (await hub.Hub.Services["consent"].RunCommandAsync(["errors"], TimeSpan.FromMinutes(2), Ct)).Output,
            errors => errors.Contains($"message-id={messageId}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), _ => "the gate never parked the altered redelivery", TimeSpan.FromSeconds(1), Ct);

        output.ShouldContain("consent-redeliveries_error");
        var stored = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}/{messageId}", Ct);
        stored.GetProperty("content").GetProperty("reason").GetString().ShouldNotBeNull().ShouldNotContain("Altered");
        (await LedgerEntriesAsync(messageId, "delivery")).ShouldBe(1);
    }

    /// <summary>
    /// A value the database refuses, written straight through the consumer path (the gate's own way in), as the NUL
    /// of issue 10 was: PostgreSQL's error context quotes it, and it must reach neither the service's log, nor the
    /// PostgreSQL log, nor the error copy.
    /// </summary>
    [Theory]
    [InlineData("escaped")] // "\u0000" in the JSON content: jsonb refuses it, and its context quotes the JSON
    [InlineData("raw")] // a NUL character in a text parameter: refused while binding
    public async Task Delivery_WithAValueTheDatabaseRefuses_LeavesNoTraceOfItInAnyLogOrTheErrorCopy(string nul)
    {
        var planted = $"Planted{Guid.NewGuid():N}"[..24];
        // Right before the NUL: PostgreSQL's context quotes the JSON up to the error, its last 50 or so characters.
        var content = nul == "escaped"
            ? "{\"reason\":\"Vårdnadshavare " + planted + "\\u0000\"}"
            : "{\"reason\":\"Vårdnadshavare " + planted + "\0\"}";
        var delivery = Delivery(HubFixture.NewSubject(), content);

        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, "consent", Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            await RawAmqp.PublishAsync(channel, $"deliveries.{Receiver}", "", delivery, delivery.Disclosure.MessageId, Ct);
        }

        var parked = await WaitUntilParkedAsync(delivery.Disclosure.MessageId);

        var log = await File.ReadAllTextAsync(hub.Hub.Services[Receiver].LogPath, Ct);
        log.ShouldContain(delivery.Disclosure.MessageId.ToString(), customMessage: "the fault was logged, by message id");
        log.ShouldContain(nul == "escaped" ? "SQLSTATE 22P05 UntranslatableCharacter" : "SQLSTATE 22021 CharacterNotInRepertoire",
            customMessage: "the fault is logged as its SQLSTATE alone");
        log.ShouldNotContain(planted);
        var postgresLog = await PostgresLogAsync();
        postgresLog.ShouldContain(nul == "escaped" ? "unsupported Unicode escape sequence" : "invalid byte sequence for encoding",
            customMessage: "the server logged the error");
        postgresLog.ShouldNotContain(planted);
        parked.ShouldNotContain(planted);
        parked.ShouldContain("SQLSTATE");
    }

    private static DeliverDisclosure Delivery(string subject, string content) => new()
    {
        Disclosure = new SubmitDisclosure
        {
            MessageId = Guid.CreateVersion7(),
            SendingUnit = DemoRequests.ChildHealthUnit,
            ReceivingUnit = DemoRequests.SocialServicesUnit,
            Purpose = Purpose.Referral,
            Categories = [InformationCategory.FamilySituation],
            SubjectId = subject,
            Content = content,
            ActingSystem = DemoRequests.ChildHealthClient,
            SubmittedAt = DateTimeOffset.UtcNow,
        },
        Basis = "consent",
        PermittedAt = DateTimeOffset.UtcNow,
    };

    private Task<LocalHub.ServiceCommandResult> ErrorsAsync(params string[] arguments) =>
        hub.Hub.Services[Receiver].RunCommandAsync(["errors", .. arguments], TimeSpan.FromMinutes(2), Ct);

    private static Dictionary<string, string> Listed(LocalHub.ServiceCommandResult listing, Guid messageId)
    {
        var line = listing.Output.Split('\n').SingleOrDefault(l => l.Contains($"message-id={messageId} ", StringComparison.Ordinal))
            ?? throw new ShouldAssertException($"message {messageId} is not listed:{Environment.NewLine}{listing.Output}");
        return line.TrimEnd().Split("  ").Select(pair => pair.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
    }

    /// <summary>Makes the receiver's inbox refuse this one subject's rows: a fault no retry cures (SQLSTATE 23514).</summary>
    private async Task<string> PoisonInboxAsync(string subject)
    {
        var constraint = $"poison_{Guid.NewGuid():N}"[..24];
        // As the DBA would: the receiver's own login may not change its inbox's schema.
        await using var connection = new NpgsqlConnection(hub.Hub.AdminConnectionString(Receiver));
        await connection.ExecuteAsync($"ALTER TABLE inbox ADD CONSTRAINT {constraint} CHECK (subject_id <> '{subject}') NOT VALID");
        return constraint;
    }

    private async Task CureAsync(string constraint)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.AdminConnectionString(Receiver));
        await connection.ExecuteAsync($"ALTER TABLE inbox DROP CONSTRAINT IF EXISTS {constraint}");
    }

    private async Task<long> LedgerEntriesAsync(Guid messageId, string kind)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM ledger WHERE message_id = @messageId AND kind = @kind", new { messageId, kind });
    }

    /// <summary>
    /// The PostgreSQL server's own log: the container's output on the container path, otherwise pg_ctl's log file beside
    /// the data directory (LocalHub's layout).
    /// </summary>
    private async Task<string> PostgresLogAsync()
    {
        if (await hub.Hub.ContainerPostgresLogAsync(Ct) is { } containerLog)
        {
            return containerLog;
        }

        await using var connection = new NpgsqlConnection(hub.Hub.Postgres.ConnectionString());
        var dataDirectory = await connection.ExecuteScalarAsync<string>("SHOW data_directory");
        return await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(dataDirectory)!, "postgres.log"), Ct);
    }

    /// <summary>The error copy in the receiver's error queue, headers and body as text, taken with its own credentials.</summary>
    private async Task<string> WaitUntilParkedAsync(Guid messageId)
    {
        var queue = $"{Receiver}-deliveries_error";
        var (_, headers) = await Eventually.MatchAsync(
            async () =>
            {
                var held = 0;
                await using var connection = await RawAmqp.ConnectAsync(hub.Hub, Receiver, Ct);
                await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);
                try
                {
                    while (await channel.BasicGetAsync(queue, autoAck: false, Ct) is { } message)
                    {
                        if (message.BasicProperties.MessageId == messageId.ToString())
                        {
                            return (Held: held, Headers: string.Join('\n', (message.BasicProperties.Headers ?? new Dictionary<string, object?>())
                                .Select(h => $"{h.Key}: {(h.Value is int or long ? Convert.ToString(h.Value, CultureInfo.InvariantCulture) : WayIn.AsText(h.Value))}")));
                        }

                        held++;
                    }
                }
                catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode is Constants.NotFound or Constants.InternalError)
                {
                    // Declared with the first message moved there; and a quorum queue just declared answers "noproc"
                    // (INTERNAL_ERROR) until its member process has started. Look again.
                }

                return (Held: held, Headers: (string?)null);
            },
            look => look.Headers is not null, TimeSpan.FromSeconds(90),
            last => $"message {messageId} never reached {queue}; it held {last.Held} others", TimeSpan.FromMilliseconds(500), Ct);
        return headers!;
    }
}
