using System.Text.Json;
using Dapper;
using FamiljecentralHub.Operations.Inbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

public sealed class WebhookDispatcherTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Unit = "rosengard-socialtjanst";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Short in-call delays so the tests are quick; a long database backoff so a failed row is not retried within a test.
    private static WebhookOptions FastOptions() => new()
    {
        PollInterval = TimeSpan.FromMilliseconds(50),
        BatchSize = 5,
        AttemptTimeout = TimeSpan.FromSeconds(2),
        TotalTimeout = TimeSpan.FromSeconds(8),
        MaxRetryAttempts = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        BreakerMinimumThroughput = 100, // out of the way unless a test is about it
        BackoffBase = TimeSpan.FromMinutes(1),
        TestOnlyAllowLoopbackReceivers = true, // the test receiver listens on 127.0.0.1
    };

    [Fact]
    public async Task Push_NewItem_SignatureVerifiesWithTheSecret()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        var secret = await RegisterAsync(db, receiver.Url);
        var messageId = await InsertInboxAsync(db);

        (await Dispatcher(db, FastOptions()).DispatchOnceAsync(Ct)).ShouldBeFalse();

        var push = receiver.Requests.ShouldHaveSingleItem();
        push.DeliveryId.ShouldBe(messageId.ToString());
        push.Event.ShouldBe("inbox-item");
        long.Parse(push.Timestamp, System.Globalization.CultureInfo.InvariantCulture)
            .ShouldBeInRange(DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        // As a receiver verifies it (docs/webhooks.md).
        Verify(push, Convert.FromBase64String(secret)).ShouldBeTrue();
        var item = JsonSerializer.Deserialize<InboxItem>(push.Body, WebhookDispatcher.Json)!;
        item.MessageId.ShouldBe(messageId);
        item.Purpose.ShouldBe(Contracts.Disclosures.Purpose.Referral);
        item.Content.GetProperty("reason").GetString().ShouldBe("Föräldrastöd");
        push.Body.ShouldContain("\"purpose\":\"Referral\"");
    }

    [Fact]
    public async Task Push_ReceiverFailsTwiceThenSucceeds_DeliveredAndMarkedOnce()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var messageId = await InsertInboxAsync(db);
        receiver.FailNext(2);
        var dispatcher = Dispatcher(db, FastOptions());

        await dispatcher.DispatchOnceAsync(Ct);
        await dispatcher.DispatchOnceAsync(Ct); // nothing more is owed

        receiver.Requests.Select(r => r.AnsweredWith).ShouldBe([500, 500, 200]);
        receiver.Requests.ShouldAllBe(r => r.DeliveryId == messageId.ToString());
        var row = await RowAsync(db, messageId);
        row.FetchedAt.ShouldNotBeNull();
        row.PushedAt.ShouldBe(row.FetchedAt);
        row.PushAttempts.ShouldBe(0);
    }

    [Fact]
    public async Task Push_Retried_EachAttemptSignedAfreshWithItsOwnTimestamp()
    {
        await using var receiver = await TestReceiver.StartAsync(Ct);
        receiver.FailNext(2);
        var secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var sender = Sender(FastOptions(), clock: new SteppingClock());

        (await sender.PushAsync(new Webhook { Unit = Unit, Url = receiver.Url, Secret = secret }, "d1", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.Pushed);

        receiver.Requests.Select(r => r.AnsweredWith).ShouldBe([500, 500, 200]);
        receiver.Requests.Select(r => r.Timestamp).Distinct().Count().ShouldBe(3);
        receiver.Requests.ShouldAllBe(r => Verify(r, secret));
    }

    /// <summary>
    /// Whatever befalls a push (errors, retries, timeouts, a refused address, an open breaker), no log line at any level
    /// holds the URL, its host, port, path or query: a URL may carry a receiver's credential (docs/webhooks.md).
    /// </summary>
    [Fact]
    public async Task Push_EveryKindOfFailure_NoLogLineHoldsTheUrl()
    {
        await using var receiver = await TestReceiver.StartAsync(Ct);
        var port = new Uri(receiver.Url).Port;
        var closed = await TestReceiver.StartAsync(Ct);
        var closedPort = new Uri(closed.Url).Port;
        await closed.StopAsync();
        await closed.DisposeAsync();
        var options = FastOptions();
        options.AllowPlainHttp = true;
        options.AttemptTimeout = TimeSpan.FromMilliseconds(200);
        options.BreakerMinimumThroughput = 4;
        options.BreakDuration = TimeSpan.FromSeconds(30);
        // The receiver's name resolves to loopback (allowed in these tests); the moved one to a private address.
        var policy = new WebhookTargetPolicy(Options.Create(options), configuration: null, (host, _) => Task.FromResult(host switch
        {
            "receiver-7f3a.test" => new[] { System.Net.IPAddress.Loopback },
            "receiver-7f3a-moved.test" => [System.Net.IPAddress.Parse("10.0.0.1")],
            _ => [],
        }));
        var logs = new CapturedLogs();
        var sender = Sender(options, policy, logs);
        Webhook Hook(string unit, int onPort, string host = "receiver-7f3a.test") =>
            new() { Unit = unit, Url = $"http://{host}:{onPort}/hook?token=not-for-logs", Secret = new byte[32] };

        receiver.FailNext(1);
        (await sender.PushAsync(Hook("u-retried", port), "d1", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.Pushed);
        receiver.AlwaysFail = true;
        // Answered, though with an error: the receiver read the body.
        (await sender.PushAsync(Hook("u-failing", port), "d2", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.MaybeReceived);
        (await sender.PushAsync(Hook("u-refused", closedPort), "d3", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.NotSent);
        receiver.AlwaysFail = false;
        receiver.Delay = TimeSpan.FromSeconds(1);
        (await sender.PushAsync(Hook("u-slow", port), "d4", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.MaybeReceived, "timed out once sent");
        receiver.Delay = TimeSpan.Zero;
        for (var i = 0; i < 3; i++)
        {
            (await sender.PushAsync(Hook("u-refused", closedPort), $"o{i}", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.NotSent); // opens its breaker
        }

        (await sender.PushAsync(Hook("u-moved", port, "receiver-7f3a-moved.test"), "d5", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.NotSent);

        logs.Lines.ShouldNotBeEmpty();
        logs.Lines.ShouldContain(line => line.Contains("circuit open", StringComparison.Ordinal)); // the breaker did open
        logs.Lines.ShouldAllBe(line => !line.Contains("receiver-7f3a", StringComparison.OrdinalIgnoreCase)
                                       && !line.Contains($":{port}", StringComparison.Ordinal)
                                       && !line.Contains($":{closedPort}", StringComparison.Ordinal)
                                       && !line.Contains("/hook", StringComparison.Ordinal)
                                       && !line.Contains("not-for-logs", StringComparison.Ordinal));
    }

    /// <summary>
    /// A receiver that answers every attempt with an error has read the body all the same: the item is marked as maybe
    /// received (so that a revocation both withdraws it and lists it in the notice) and pushed again later, not fetched.
    /// </summary>
    [Fact]
    public async Task Push_ReceiverAnswersWithAnError_ItemMarkedMaybeReceived_AndPushedAgainLater()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        receiver.AlwaysFail = true;
        var messageId = await InsertInboxAsync(db);

        await Dispatcher(db, FastOptions()).DispatchOnceAsync(Ct);

        var row = await RowAsync(db, messageId);
        receiver.Requests.ShouldNotBeEmpty();
        row.MaybeReceivedAt.ShouldNotBeNull();
        row.FetchedAt.ShouldBeNull("not taken: it is pushed again");
        row.PushedAt.ShouldBeNull();
        row.NextPushAt.ShouldNotBeNull();
    }

    /// <summary>
    /// A push broken off because the service is stopping still says what it may have left with the receiver, instead of
    /// throwing past the dispatcher's record of it: a revocation before the next push must then list the item in its notice.
    /// </summary>
    [Fact]
    public async Task Push_BrokenOffByShutdown_SaysWhatItMayHaveLeft_WithoutThrowing()
    {
        await using var receiver = await TestReceiver.StartAsync(Ct);
        receiver.Delay = TimeSpan.FromSeconds(5);
        var sender = Sender(FastOptions());
        using var stopping = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var outcome = await sender.PushAsync(new Webhook { Unit = Unit, Url = receiver.Url, Secret = new byte[32] }, "d1", "inbox-item", "{}", stopping.Token);

        outcome.ShouldBe(PushOutcome.MaybeReceived);
    }

    [Fact]
    public async Task Push_ReceiverStaysDown_ItemStaysInInboxUnmarked()
    {
        var db = await postgres.NewDatabaseAsync();
        var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        await receiver.StopAsync();
        await receiver.DisposeAsync();
        var messageId = await InsertInboxAsync(db);
        var before = DateTimeOffset.UtcNow;

        await Dispatcher(db, FastOptions()).DispatchOnceAsync(Ct);

        var row = await RowAsync(db, messageId);
        row.FetchedAt.ShouldBeNull();
        row.PushedAt.ShouldBeNull();
        row.MaybeReceivedAt.ShouldBeNull("no connection: nothing reached the receiver");
        row.PushAttempts.ShouldBe(1);
        row.NextPushAt.ShouldNotBeNull().ShouldBeGreaterThan(before.AddSeconds(40)); // 1 min ± 20 %
        // Still there for the system to pull.
        await using var connection = await db.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM inbox WHERE receiving_unit = @Unit AND withdrawn_at IS NULL", new { Unit })).ShouldBe(1);
    }

    [Fact]
    public async Task Push_ReceiverBackAfterBackoff_DeliveredOnNextDueRound()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var messageId = await InsertInboxAsync(db);
        receiver.AlwaysFail = true;
        var options = FastOptions();
        options.MaxRetryAttempts = 0;
        options.BackoffBase = TimeSpan.FromMilliseconds(200);
        var dispatcher = Dispatcher(db, options);

        await dispatcher.DispatchOnceAsync(Ct);
        await dispatcher.DispatchOnceAsync(Ct); // not due yet
        receiver.Requests.Count.ShouldBe(1);
        receiver.AlwaysFail = false;
        await Task.Delay(TimeSpan.FromMilliseconds(400), Ct);
        await dispatcher.DispatchOnceAsync(Ct);

        receiver.Requests.Select(r => r.AnsweredWith).ShouldBe([500, 200]);
        (await RowAsync(db, messageId)).PushedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task CircuitBreaker_RepeatedFailures_NoCallsForBreakDuration()
    {
        await using var receiver = await TestReceiver.StartAsync(Ct);
        receiver.AlwaysFail = true;
        var options = FastOptions();
        options.MaxRetryAttempts = 0;
        options.BreakerMinimumThroughput = 3;
        options.BreakerFailureRatio = 0.5;
        options.BreakDuration = TimeSpan.FromSeconds(2);
        var sender = Sender(options);
        var hook = new Webhook { Unit = Unit, Url = receiver.Url, Secret = new byte[32] };

        for (var i = 0; i < 10; i++)
        {
            (await sender.PushAsync(hook, $"d{i}", "inbox-item", "{}", Ct)).ShouldNotBe(PushOutcome.Pushed);
        }

        receiver.Requests.Count.ShouldBe(3); // then open: the other seven never left the hub
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        (await sender.PushAsync(hook, "during", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.NotSent, "the open breaker let nothing leave");
        receiver.Requests.Count.ShouldBe(3);

        receiver.AlwaysFail = false;
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        (await sender.PushAsync(hook, "after", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.Pushed); // half-open probe closes it
        receiver.Requests.Count.ShouldBe(4);
    }

    [Fact]
    public async Task CircuitBreaker_OtherUrlFailing_DoesNotRestThisOne()
    {
        await using var failing = await TestReceiver.StartAsync(Ct);
        await using var healthy = await TestReceiver.StartAsync(Ct);
        failing.AlwaysFail = true;
        var options = FastOptions();
        options.MaxRetryAttempts = 0;
        options.BreakerMinimumThroughput = 2;
        var sender = Sender(options);

        for (var i = 0; i < 5; i++)
        {
            await sender.PushAsync(new Webhook { Unit = "a", Url = failing.Url, Secret = new byte[32] }, $"d{i}", "inbox-item", "{}", Ct);
        }

        (await sender.PushAsync(new Webhook { Unit = "b", Url = healthy.Url, Secret = new byte[32] }, "ok", "inbox-item", "{}", Ct)).ShouldBe(PushOutcome.Pushed);
    }

    [Fact]
    public async Task Push_WithdrawnItem_NeverPushed()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var withdrawn = await InsertInboxAsync(db, withdrawn: true);

        await Dispatcher(db, FastOptions()).DispatchOnceAsync(Ct);

        receiver.Requests.ShouldBeEmpty();
        (await RowAsync(db, withdrawn)).FetchedAt.ShouldBeNull();
    }

    [Fact]
    public async Task Push_RevocationWaitsForPushInFlight_GivesNoticeNotWithdrawal()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var consentId = Guid.NewGuid();
        var messageId = await InsertInboxAsync(db, consentId: consentId);
        receiver.FailNext(2); // the push takes a while: two retries

        var options = FastOptions();
        options.RetryBaseDelay = TimeSpan.FromMilliseconds(300);
        var push = Dispatcher(db, options).DispatchOnceAsync(Ct);
        while (receiver.Requests.IsEmpty) // the first attempt has reached the receiver: the row is claimed and locked
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), Ct);
        }

        // What ConsentRevokedConsumer runs: it waits for the row lock, then finds the row fetched.
        await using var connection = await db.OpenConnectionAsync(Ct);
        var withdrawnCount = await connection.ExecuteAsync(
            "UPDATE inbox SET withdrawn_at = now() WHERE consent_id = @consentId AND fetched_at IS NULL AND withdrawn_at IS NULL",
            new { consentId });
        await push;

        withdrawnCount.ShouldBe(0);
        receiver.Requests.Count.ShouldBe(3);
        receiver.Requests.Last().AnsweredWith.ShouldBe(200);
        (await RowAsync(db, messageId)).WithdrawnAt.ShouldBeNull();
    }

    [Fact]
    public async Task Dispatch_TwoDispatchersOnOneDatabase_EachItemPushedOnce()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var ids = new List<Guid>();
        for (var i = 0; i < 40; i++)
        {
            ids.Add(await InsertInboxAsync(db));
        }

        var first = Dispatcher(db, FastOptions());
        var second = Dispatcher(db, FastOptions());
        await Task.WhenAll(DrainAsync(first), DrainAsync(second));

        receiver.Requests.Count.ShouldBe(40);
        receiver.Requests.Select(r => Guid.Parse(r.DeliveryId)).Order().ShouldBe(ids.Order());
        await using var connection = await db.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM inbox WHERE pushed_at IS NULL")).ShouldBe(0);

        async Task DrainAsync(WebhookDispatcher dispatcher)
        {
            for (var round = 0; round < 40; round++)
            {
                await dispatcher.DispatchOnceAsync(Ct);
                await Task.Yield();
            }
        }
    }

    /// <summary>
    /// One change (a custody change, a "no") that takes cover from several consents' fetched messages makes one notice per
    /// consent, all with the change's id: a receiver that deduplicates on X-Hub-Delivery, as it is told to, would drop all
    /// but the first. Each notice has its own key, and the same key again when it is pushed again.
    /// </summary>
    [Fact]
    public async Task Push_NoticesOfOneChange_EachHaveTheirOwnDeliveryId_KeptWhenPushedAgain()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var changeId = Guid.NewGuid();
        await using (var connection = await db.OpenConnectionAsync(Ct))
        {
            foreach (var consentId in new[] { Guid.NewGuid(), Guid.NewGuid() })
            {
                await connection.ExecuteAsync(
                    "INSERT INTO revocation_notices (receiving_unit, consent_id, message_ids, revoked_at, change_id) VALUES (@Unit, @consentId, @ids, now(), @changeId)",
                    new { Unit, consentId, ids = new[] { Guid.NewGuid() }, changeId });
            }
        }

        var dispatcher = Dispatcher(db, FastOptions());
        await dispatcher.DispatchOnceAsync(Ct);
        var first = receiver.Requests.Select(r => r.DeliveryId).ToList();
        await using (var connection = await db.OpenConnectionAsync(Ct))
        {
            // As after a push whose 2xx was lost: pushed again.
            await connection.ExecuteAsync("UPDATE revocation_notices SET pushed_at = NULL");
        }

        await dispatcher.DispatchOnceAsync(Ct);

        first.Count.ShouldBe(2);
        first.Distinct().Count().ShouldBe(2, "two notices under one delivery id: the receiver drops the second");
        receiver.Requests.Skip(2).Select(r => r.DeliveryId).Order().ShouldBe(first.Order(), "a notice pushed again keeps its key");
    }

    [Fact]
    public async Task Push_RevocationNotice_PushedOnce()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        await RegisterAsync(db, receiver.Url);
        var consentId = Guid.NewGuid();
        var messageId = Guid.NewGuid();
        await using (var connection = await db.OpenConnectionAsync(Ct))
        {
            await connection.ExecuteAsync(
                "INSERT INTO revocation_notices (receiving_unit, consent_id, message_ids, revoked_at) VALUES (@Unit, @consentId, @ids, now())",
                new { Unit, consentId, ids = new[] { messageId } });
        }

        var dispatcher = Dispatcher(db, FastOptions());
        await dispatcher.DispatchOnceAsync(Ct);
        await dispatcher.DispatchOnceAsync(Ct);

        var push = receiver.Requests.ShouldHaveSingleItem();
        push.Event.ShouldBe("revocation-notice");
        Guid.TryParse(push.DeliveryId, out _).ShouldBeTrue();
        JsonSerializer.Deserialize<RevocationNotice>(push.Body, WebhookDispatcher.Json)!.MessageIds.ShouldBe([messageId]);
    }

    [Fact]
    public async Task Push_UnitWithoutWebhook_LeftForPulling()
    {
        var db = await postgres.NewDatabaseAsync();
        var messageId = await InsertInboxAsync(db);

        await Dispatcher(db, FastOptions()).DispatchOnceAsync(Ct);

        var row = await RowAsync(db, messageId);
        row.PushAttempts.ShouldBe(0);
        row.FetchedAt.ShouldBeNull();
    }

    [Fact]
    public async Task Push_Signature_CoversDeliveryIdEventTimestampAndBody()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        var secret = Convert.FromBase64String(await RegisterAsync(db, receiver.Url));
        await InsertInboxAsync(db);

        await Dispatcher(db, FastOptions()).DispatchOnceAsync(Ct);

        var push = receiver.Requests.ShouldHaveSingleItem();
        push.Signature.ShouldStartWith("v1=");
        Verify(push, secret).ShouldBeTrue();
        // Any header a receiver acts on, changed in transit or replayed under another, fails verification.
        Verify(push with { DeliveryId = Guid.NewGuid().ToString() }, secret).ShouldBeFalse();
        Verify(push with { Event = "revocation-notice" }, secret).ShouldBeFalse();
        Verify(push with { Timestamp = (long.Parse(push.Timestamp, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) }, secret).ShouldBeFalse();
        Verify(push with { Body = push.Body + " " }, secret).ShouldBeFalse();
    }

    /// <summary>
    /// Registered while its name resolved to a public address; now it resolves to loopback (DNS rebinding). The
    /// connection is refused at send time, for the address alone: plain http is allowed here, and the same hook with the
    /// loopback allowance on is delivered (the control), so nothing else stands in the way.
    /// </summary>
    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 1)]
    public async Task Push_HostNowResolvesToLoopback_RefusedAtConnectUnlessAllowed(bool loopbackAllowed, int expectedRequests)
    {
        var db = await postgres.NewDatabaseAsync();
        await using var receiver = await TestReceiver.StartAsync(Ct);
        var options = FastOptions();
        options.AllowPlainHttp = true;
        options.TestOnlyAllowLoopbackReceivers = loopbackAllowed;
        options.MaxRetryAttempts = 0;
        var answer = System.Net.IPAddress.Parse("93.184.215.14"); // public, at registration
        var policy = new WebhookTargetPolicy(Options.Create(options), configuration: null,
            (host, _) => Task.FromResult(host == "receiver.test" ? new[] { answer } : []));
        var url = new UriBuilder(receiver.Url) { Host = "receiver.test" }.Uri;
        (await policy.CheckRegistrationAsync(url, Ct)).ShouldBeNull();
        await RegisterAsync(db, url.ToString());
        var messageId = await InsertInboxAsync(db);
        answer = System.Net.IPAddress.Loopback; // rebound

        await Dispatcher(db, options, policy).DispatchOnceAsync(Ct);

        receiver.Requests.Count.ShouldBe(expectedRequests);
        var row = await RowAsync(db, messageId);
        (row.FetchedAt is null).ShouldBe(!loopbackAllowed);
        row.PushAttempts.ShouldBe(loopbackAllowed ? 0 : 1);
    }

    /// <summary>What docs/webhooks.md tells a receiver to do.</summary>
    private static bool Verify(ReceivedPush push, byte[] secret)
    {
        var signed = System.Text.Encoding.UTF8.GetBytes($"{push.DeliveryId}.{push.Event}.{push.Timestamp}.{push.Body}");
        var expected = System.Text.Encoding.ASCII.GetBytes("v1=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(secret, signed)));
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, System.Text.Encoding.ASCII.GetBytes(push.Signature));
    }

    /// <summary>The sender as the service builds it (its HttpClient, pipeline and signing handler), every log line kept when asked.</summary>
    private static WebhookSender Sender(WebhookOptions options, WebhookTargetPolicy? policy = null, CapturedLogs? logs = null, TimeProvider? clock = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        services.AddSingleton(Options.Create(options));
        services.AddSingleton(policy ?? new WebhookTargetPolicy(Options.Create(options), configuration: null));
        services.AddSingleton(clock ?? TimeProvider.System);
        services.AddWebhookSender();
        return services.BuildServiceProvider().GetRequiredService<WebhookSender>();
    }

    private static WebhookDispatcher Dispatcher(NpgsqlDataSource db, WebhookOptions options, WebhookTargetPolicy? policy = null) => new(
        db, Sender(options, policy), Options.Create(options), TimeProvider.System, NullLogger<WebhookDispatcher>.Instance);

    private static async Task<string> RegisterAsync(NpgsqlDataSource db, string url)
    {
        var secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        await using var connection = await db.OpenConnectionAsync(Ct);
        await connection.ExecuteAsync(
            "INSERT INTO webhooks (receiving_unit, url, secret, registered_at) VALUES (@Unit, @url, @secret, now())", new { Unit, url, secret });
        return Convert.ToBase64String(secret);
    }

    private static async Task<Guid> InsertInboxAsync(NpgsqlDataSource db, bool withdrawn = false, Guid? consentId = null)
    {
        var messageId = Guid.NewGuid();
        await using var connection = await db.OpenConnectionAsync(Ct);
        await connection.ExecuteAsync(
            """
            INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis, consent_id,
                               submitted_at, delivered_at, withdrawn_at)
            VALUES (@messageId, @Unit, 'rosengard-bvc', 'Referral', '{FamilySituation}', '20240315-2388', '{"reason":"Föräldrastöd"}',
                    'consent', @consentId, now(), now(), CASE WHEN @withdrawn THEN now() END)
            """,
            new { messageId, Unit, consentId, withdrawn });
        return messageId;
    }

    private static async Task<PushState> RowAsync(NpgsqlDataSource db, Guid messageId)
    {
        await using var connection = await db.OpenConnectionAsync(Ct);
        return await connection.QuerySingleAsync<PushState>(
            """
            SELECT fetched_at AS FetchedAt, pushed_at AS PushedAt, withdrawn_at AS WithdrawnAt, push_attempts AS PushAttempts,
                   next_push_at AS NextPushAt, maybe_received_at AS MaybeReceivedAt
            FROM inbox WHERE message_id = @messageId
            """,
            new { messageId });
    }

    private sealed class PushState
    {
        public DateTimeOffset? FetchedAt { get; init; }
        public DateTimeOffset? PushedAt { get; init; }
        public DateTimeOffset? WithdrawnAt { get; init; }
        public int PushAttempts { get; init; }
        public DateTimeOffset? NextPushAt { get; init; }
        public DateTimeOffset? MaybeReceivedAt { get; init; }
    }
}

/// <summary>Every log line written, at every level, with its exception as it would be printed.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>System time, ten seconds later at every reading: each attempt's timestamp differs.</summary>
internal sealed class SteppingClock : TimeProvider
{
    private long readings;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddSeconds(10 * Interlocked.Increment(ref readings));
}

