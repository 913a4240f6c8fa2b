using System.Diagnostics;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using FamiljecentralHub.Topology;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A referral the gate cannot decide: its subject's ledger rows are refused by a CHECK constraint of its own, a fault
/// that no retry cures (SQLSTATE 23514, not transient), for that one subject and nobody else.
/// </summary>
public sealed record PoisonedReferral(string Subject, string Pseudonym, string Constraint, Guid? ConsentId, Guid MessageId, string StatusUrl);

/// <summary>
/// Poisons four referrals at once, so their retries (about 18 s) run side by side, and sends referrals for other
/// subjects right after them: three from BVC under a valid consent, one forged by child health's broker user in
/// maternity care's name, with headers that try to pass for the gate's. Waits until the bystanders are delivered and the
/// four are in the gate's error queue, and lists the queue once.
/// </summary>
public sealed class PoisonedReferralsFixture(HubFixture hub) : IAsyncLifetime
{
    public const string IntruderContent = """{"reason":"Forged by an intruder in child health, named as maternity care."}""";

    private readonly List<string> constraints = [];

    public PoisonedReferral Revoked { get; private set; } = null!;

    public PoisonedReferral StillValid { get; private set; } = null!;

    public PoisonedReferral StillPoison { get; private set; } = null!;

    /// <summary>Came through submissions.child-health claiming maternity care's unit; refused, and then the refusal faulted.</summary>
    public PoisonedReferral Intruder { get; private set; } = null!;

    public IReadOnlyList<PoisonedReferral> All => [Revoked, StillValid, StillPoison, Intruder];

    /// <summary>From the poisoned referrals' submission until every bystander was delivered.</summary>
    public TimeSpan BystandersDeliveredAfter { get; private set; }

    /// <summary>From the poisoned referrals' submission until the first of them was in the error queue.</summary>
    public TimeSpan FirstParkedAfter { get; private set; }

    /// <summary>The decision each poisoned referral had when the last of them reached the error queue.</summary>
    public IReadOnlyDictionary<Guid, string> StatusesWhenParked { get; private set; } = new Dictionary<Guid, string>();

    /// <summary><c>errors</c> once all four were parked.</summary>
    public ServiceCommandResult Listing { get; private set; } = null!;

    /// <summary>The intruder's error copy as first parked: tests that redrive it may run before the one that reads it.</summary>
    public ParkedMessage IntruderWhenParked { get; private set; } = null!;

    /// <summary>
    /// The error copy of a referral whose sender put the subject's identity number in the W3C <c>baggage</c> and the
    /// older <c>Correlation-Context</c> request headers, as first parked.
    /// </summary>
    public ParkedMessage WithBaggageWhenParked { get; private set; } = null!;

    public Hub Hub => hub.Hub;

    public Pseudonymizer Pseudonyms { get; } = new(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey }));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subjects = Enumerable.Range(0, 4).Select(_ => HubFixture.NewSubject()).ToList();
        var bystanders = Enumerable.Range(0, 5).Select(_ => HubFixture.NewSubject()).ToList();
        var consents = new Dictionary<string, Guid>();
        foreach (var subject in subjects.Take(3).Concat(bystanders))
        {
            consents[subject] = await CreateConsentAsync(bvc, subject);
        }

        foreach (var subject in subjects)
        {
            await PoisonAsync(subject);
        }

        var clock = Stopwatch.StartNew();
        var referrals = new List<(Guid Id, string StatusUrl)>();
        foreach (var subject in subjects.Take(3))
        {
            referrals.Add(await ReferAsync(bvc, subject, baggage: subject == subjects[2]));
        }

        var forged = await ForgeAsync(subjects[3]);
        var bystanderUrls = new List<string>();
        foreach (var subject in bystanders)
        {
            bystanderUrls.Add((await ReferAsync(bvc, subject)).StatusUrl);
        }

        foreach (var url in bystanderUrls)
        {
            await HubFixture.WaitForStatusAsync(bvc, url, "Delivered");
        }

        BystandersDeliveredAfter = clock.Elapsed;

        PoisonedReferral Poisoned(int i, Guid id, string statusUrl) =>
            new(subjects[i], Pseudonyms.For(subjects[i]), constraints[i], consents.TryGetValue(subjects[i], out var consent) ? consent : null, id, statusUrl);
        Revoked = Poisoned(0, referrals[0].Id, referrals[0].StatusUrl);
        StillValid = Poisoned(1, referrals[1].Id, referrals[1].StatusUrl);
        StillPoison = Poisoned(2, referrals[2].Id, referrals[2].StatusUrl);
        Intruder = Poisoned(3, forged, $"/maternity-care/units/rosengard-mvc/sent/{forged}");

        // Within 120 s of the first poisoned referral's submission, not of this wait's start.
        var waiting = All.Select(p => p.MessageId).ToHashSet();
        await Eventually.MatchAsync(
            async () =>
            {
                var parked = (await GateErrorQueuePeek.AllAsync(Hub, Ct)).Select(m => m.MessageId).Where(waiting.Contains).ToList();
                if (parked.Count > 0 && waiting.Count == All.Count)
                {
                    FirstParkedAfter = clock.Elapsed;
                }

                waiting.ExceptWith(parked);
                return waiting.Count;
            },
            left => left == 0, TimeSpan.FromSeconds(120) - clock.Elapsed,
            left => $"the poisoned referrals never all reached the error queue: {left} of {All.Count} still missing after 120 s",
            TimeSpan.FromMilliseconds(250), Ct);

        var statuses = new Dictionary<Guid, string>();
        using var mvc = hub.Client("mvc-ehr");
        foreach (var poisoned in All)
        {
            var status = await (poisoned == Intruder ? mvc : bvc).GetAsync(poisoned.StatusUrl, Ct);
            statuses[poisoned.MessageId] = status.IsSuccessStatusCode
                ? (await status.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("status").GetString()!
                : $"{(int)status.StatusCode}";
        }

        StatusesWhenParked = statuses;
        IntruderWhenParked = await GateErrorQueuePeek.WaitUntilParkedAsync(Hub, Intruder.MessageId, Ct);
        WithBaggageWhenParked = await GateErrorQueuePeek.WaitUntilParkedAsync(Hub, StillPoison.MessageId, Ct);
        Listing = await ErrorsAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(Hub.AdminConnectionString("consent"));
        foreach (var constraint in constraints)
        {
            await connection.ExecuteAsync($"ALTER TABLE ledger DROP CONSTRAINT IF EXISTS {constraint}");
        }
    }

    /// <summary>Runs the consent service's <c>errors</c> command as its operator would.</summary>
    public Task<ServiceCommandResult> ErrorsAsync(params string[] arguments) =>
        Hub.Services["consent"].RunCommandAsync(["errors", .. arguments], TimeSpan.FromMinutes(2), Ct);

    /// <summary>Lifts the poison: the subject's ledger rows are accepted again.</summary>
    public async Task CureAsync(PoisonedReferral poisoned)
    {
        await using var connection = new NpgsqlConnection(Hub.AdminConnectionString("consent"));
        await connection.ExecuteAsync($"ALTER TABLE ledger DROP CONSTRAINT IF EXISTS {poisoned.Constraint}");
    }

    /// <summary>How many ledger entries of a kind the message has: one decision at most, whatever the redeliveries.</summary>
    public async Task<long> LedgerEntriesAsync(Guid messageId, string kind)
    {
        await using var connection = new NpgsqlConnection(Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM ledger WHERE message_id = @messageId AND kind = @kind", new { messageId, kind });
    }

    /// <summary>How many conflict entries the message has (their kind names the refused body's digest).</summary>
    public async Task<long> ConflictsAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM ledger WHERE message_id = @messageId AND outcome = 'conflict'", new { messageId });
    }

    private async Task PoisonAsync(string subject)
    {
        var constraint = $"poison_{Guid.NewGuid():N}"[..24];
        constraints.Add(constraint);
        // As the DBA would: the consent service's own login may not change its ledger.
        await using var connection = new NpgsqlConnection(Hub.AdminConnectionString("consent"));
        // NOT VALID: the rows already there are not checked, only those written from now on.
        await connection.ExecuteAsync(
            $"ALTER TABLE ledger ADD CONSTRAINT {constraint} CHECK (subject_pseudonym <> '{Pseudonyms.For(subject)}') NOT VALID");
    }

    private static async Task<Guid> CreateConsentAsync(HttpClient bvc, string subject)
    {
        var created = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct);
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await created.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
    }

    private static async Task<(Guid Id, string StatusUrl)> ReferAsync(HttpClient bvc, string subject, bool baggage = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, DemoRequests.ReferralPath) { Content = JsonContent.Create(DemoRequests.Referral(subject)) };
        if (baggage)
        {
            // With a trace context of its own: the runtime takes a request's baggage only beside a traceparent.
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            request.Headers.TryAddWithoutValidation("baggage", $"nin={subject},name=Anna%20Andersson");
            request.Headers.TryAddWithoutValidation("Correlation-Context", $"nin={subject}");
        }

        var submitted = await bvc.SendAsync(request, Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return (body.GetProperty("messageId").GetGuid(), body.GetProperty("statusUrl").GetString()!);
    }

    /// <summary>
    /// Child health's broker user submits through its own way in, in maternity care's name, and writes headers that would
    /// name maternity care's way in and carry the identity number if the gate kept them: in the gate's spelling, in
    /// another case, and MassTransit's fault headers too.
    /// </summary>
    private async Task<Guid> ForgeAsync(string subject)
    {
        var forged = new SubmitDisclosure
        {
            MessageId = Guid.CreateVersion7(),
            SendingUnit = "rosengard-mvc",
            ReceivingUnit = DemoRequests.ChildHealthUnit,
            Purpose = Purpose.BirthHandover,
            Categories = [InformationCategory.FamilySituation],
            SubjectId = subject,
            Content = IntruderContent,
            ActingSystem = "mvc-ehr",
            SubmittedAt = DateTimeOffset.UtcNow,
        };
        var spoofed = Queues.SubmissionExchangeOf("maternity-care");
        await using var connection = await RawAmqp.ConnectAsync(Hub, "child-health", Ct);
        await using var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct);
        await RawAmqp.PublishAsync(channel, Queues.SubmissionExchangeOf("child-health"), "", forged, forged.MessageId, Ct, new Dictionary<string, object?>
        {
            [WayIn.Header] = spoofed,
            ["hub-way-in"] = spoofed,
            [FaultReason.Header] = subject,
            ["mt-fault-message"] = subject,
            ["MT-Fault-RedeliveryCount"] = subject,
        });
        return forged.MessageId;
    }
}

/// <summary>
/// Poison messages at the gate, end to end: a referral whose decision cannot be written is retried, then parked in the
/// gate's error queue without holding up the referrals behind it; the errors command lists it by metadata alone; and a
/// redriven message is decided again against the consents as they stand, through the way it first came in.
/// </summary>
public sealed class ErrorQueueTests(PoisonedReferralsFixture poison, HubFixture hub) : IClassFixture<PoisonedReferralsFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Poisoned_IsRetriedAndParked_WhileReferralsSentRightAfterItAreDelivered()
    {
        // 100 ms + 0.5 + 2 + 5 + 10 s of retries before the error queue; the bystanders did not wait for any of it.
        poison.FirstParkedAfter.ShouldBeGreaterThan(TimeSpan.FromSeconds(15), "the poisoned referrals were retried before they were parked");
        poison.BystandersDeliveredAfter.ShouldBeLessThan(poison.FirstParkedAfter, "referrals sent after a poisoned one are not held up by it");
        // Nothing was decided for a referral whose decision could not be recorded; the forged one was never submitted
        // through maternity care's own API, so maternity care has no status for it at all.
        poison.StatusesWhenParked.ShouldBe(new Dictionary<Guid, string>
        {
            [poison.Revoked.MessageId] = "Submitted",
            [poison.StillValid.MessageId] = "Submitted",
            [poison.StillPoison.MessageId] = "Submitted",
            [poison.Intruder.MessageId] = "404",
        }, ignoreOrder: true);
        foreach (var poisoned in poison.All)
        {
            Listed(poisoned)["retries"].ShouldBe("5");
        }
    }

    [Fact]
    public void Errors_ListsEachParkedMessage_WithMetadataOnly()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(poison.Listing.Output);
        poison.Listing.ExitCode.ShouldBe(0, poison.Listing.Output);
        foreach (var poisoned in poison.All)
        {
            var line = Listed(poisoned);
            line["type"].ShouldBe("SubmitDisclosure");
            line["subject"].ShouldBe(poisoned.Pseudonym);
            line["exception"].ShouldEndWith("PostgresException");
            DateTimeOffset.Parse(line["faulted-at"], System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-10));
            line["reason"].ShouldBe("Npgsql.PostgresException: SQLSTATE 23514 CheckViolation");
            line["way-in"].ShouldBe(Queues.SubmissionExchangeOf("child-health"), "the exchange the broker delivered it through, not what the sender wrote");
        }

        Listed(poison.Revoked)["sending-unit"].ShouldBe(DemoRequests.ChildHealthUnit);
        Listed(poison.Revoked)["receiving-unit"].ShouldBe(DemoRequests.SocialServicesUnit);
        Listed(poison.Revoked)["purpose"].ShouldBe("Referral");
        Listed(poison.Intruder)["sending-unit"].ShouldBe("rosengard-mvc");
        Listed(poison.Intruder)["purpose"].ShouldBe("BirthHandover");

        var output = poison.Listing.Output;
        foreach (var poisoned in poison.All)
        {
            output.ShouldNotContain(poisoned.Subject);
            output.ShouldNotContain(poisoned.Subject[..8] + "-" + poisoned.Subject[8..]);
            output.ShouldNotContain(poisoned.Constraint, Case.Insensitive, "a constraint's name may be set from row values by a trigger; only the SQLSTATE is shown");
        }

        output.ShouldNotContain("önskar stöd", Case.Insensitive);
        output.ShouldNotContain("intruder", Case.Insensitive);
        output.ShouldNotContain("violates", Case.Insensitive);
    }

    [Fact]
    public async Task Parked_IntrudersMessage_CarriesTheGatesWayInAndNoHeaderOfTheSenders()
    {
        var parked = poison.IntruderWhenParked;

        parked.HeadersNamed(WayIn.Header).ShouldBe([Queues.SubmissionExchangeOf("child-health")]);
        parked.HeadersNamed(FaultReason.Header).ShouldBe(["Npgsql.PostgresException: SQLSTATE 23514 CheckViolation"]);
        parked.HeadersNamed(MassTransit.MessageHeaders.FaultMessage).ShouldBe(["Npgsql.PostgresException: SQLSTATE 23514 CheckViolation"]);
        parked.Headers.Values.ShouldAllBe(value => value == null || !value.Contains(poison.Intruder.Subject));
    }

    [Fact]
    public void Parked_ASendersBaggage_IsNotCarriedIntoTheBroker()
    {
        // MassTransit copies the current activity's baggage into every message it publishes, and ASP.NET Core fills it
        // from the request: a client's baggage would ride through the broker into error copies, the consoles that show
        // them, and every process's activities. Only the trace context is taken from a request.
        var parked = poison.WithBaggageWhenParked;
        var headers = string.Join("\n", (parked.Properties.Headers ?? new Dictionary<string, object?>()).Select(h => $"{h.Key}={Flattened(h.Value)}"));

        headers.ShouldNotContain(poison.StillPoison.Subject);
        headers.ShouldNotContain("Andersson");
        headers.ShouldNotContain("MT-Activity-Correlation-Context", Case.Insensitive);

        static string Flattened(object? value) => value switch
        {
            byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
            IDictionary<string, object?> table => string.Join(",", table.Select(t => $"{t.Key}:{Flattened(t.Value)}")),
            System.Collections.IEnumerable list and not string => string.Join(",", list.Cast<object?>().Select(Flattened)),
            _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
        };
    }

    [Fact]
    public async Task Redrive_AfterTheConsentWasRevoked_IsRefusedAndNeverReachesTheReceiver()
    {
        var poisoned = poison.Revoked;
        await GateErrorQueuePeek.WaitUntilParkedAsync(hub.Hub, poisoned.MessageId, Ct);
        await poison.CureAsync(poisoned);
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        (await bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{poisoned.ConsentId}/revoke",
            new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        var redrive = await poison.ErrorsAsync("redrive", poisoned.MessageId.ToString());

        redrive.ExitCode.ShouldBe(0, redrive.Output);
        redrive.Output.ShouldContain($"redriven message-id={poisoned.MessageId}");
        var refused = await HubFixture.WaitForStatusAsync(bvc, poisoned.StatusUrl, "Refused");
        refused.GetProperty("reasons").EnumerateArray().ShouldNotBeEmpty();
        (await social.GetAsync($"{DemoRequests.InboxPath}/{poisoned.MessageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await poison.LedgerEntriesAsync(poisoned.MessageId, "decision")).ShouldBe(1);
        (await GateErrorQueuePeek.FindAsync(hub.Hub, poisoned.MessageId, Ct)).ShouldBeNull();
    }

    /// <summary>Redrive is at least once: the same copy put back twice is decided and delivered once.</summary>
    [Fact]
    public async Task Redrive_WithTheConsentStillValid_IsDeliveredExactlyOnce()
    {
        var poisoned = poison.StillValid;
        var parked = await GateErrorQueuePeek.WaitUntilParkedAsync(hub.Hub, poisoned.MessageId, Ct);
        await poison.CureAsync(poisoned);
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);

        var redrive = await poison.ErrorsAsync("redrive", poisoned.MessageId.ToString());
        redrive.ExitCode.ShouldBe(0, redrive.Output);
        var delivered = await HubFixture.WaitForStatusAsync(bvc, poisoned.StatusUrl, "Delivered");
        delivered.GetProperty("basis").GetString().ShouldBe("consent");

        // The duplicate an interrupted redrive would leave: the same error copy through the redrive exchange again.
        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, "consent", Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            await channel.BasicPublishAsync(Queues.RedriveExchangeOf(Queues.Gate), "", mandatory: true, new BasicProperties(parked.Properties), parked.Body, Ct);
            await WaitUntilTheGateIsIdleAsync(channel);
        }

        (await social.GetAsync($"{DemoRequests.InboxPath}/{poisoned.MessageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await poison.LedgerEntriesAsync(poisoned.MessageId, "decision")).ShouldBe(1);
        (await poison.LedgerEntriesAsync(poisoned.MessageId, "delivery")).ShouldBe(1);
        (await HubFixture.WaitForStatusAsync(bvc, poisoned.StatusUrl, "Delivered")).GetProperty("deliveredAt").GetDateTimeOffset()
            .ShouldBe(delivered.GetProperty("deliveredAt").GetDateTimeOffset());
        var verified = await hub.Hub.Services["consent"].RunCommandAsync(["verify-ledger"], TimeSpan.FromMinutes(2), Ct);
        verified.ExitCode.ShouldBe(0, "refused appends leave the hash chain intact: " + verified.Output);
    }

    /// <summary>
    /// Still poison when redriven, it goes round again and back to the error queue with the way it first came in, not
    /// the redrive exchange it came back through; once cured, that stamp lets it through the gate.
    /// </summary>
    [Fact]
    public async Task Redrive_WhileStillPoisoned_ReturnsToTheErrorQueueWithItsWayIn()
    {
        var poisoned = poison.StillPoison;
        await GateErrorQueuePeek.WaitUntilParkedAsync(hub.Hub, poisoned.MessageId, Ct);
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var redrive = await poison.ErrorsAsync("redrive", poisoned.MessageId.ToString());
        redrive.ExitCode.ShouldBe(0, redrive.Output);
        (await GateErrorQueuePeek.FindAsync(hub.Hub, poisoned.MessageId, Ct)).ShouldBeNull("the redriven copy left the error queue");
        var back = await GateErrorQueuePeek.WaitUntilParkedAsync(hub.Hub, poisoned.MessageId, Ct);

        back.HeadersNamed(WayIn.Header).ShouldBe([Queues.SubmissionExchangeOf("child-health")]);
        back.HeadersNamed(MassTransit.MessageHeaders.FaultRetryCount).ShouldBe(["5"]);
        (await bvc.GetFromJsonAsync<JsonElement>(poisoned.StatusUrl, Ct)).GetProperty("status").GetString().ShouldBe("Submitted");

        await poison.CureAsync(poisoned);
        var all = await poison.ErrorsAsync("redrive", "--all");
        all.ExitCode.ShouldBe(0, all.Output);
        all.Output.ShouldContain($"redriven message-id={poisoned.MessageId}");
        (await HubFixture.WaitForStatusAsync(bvc, poisoned.StatusUrl, "Delivered")).GetProperty("basis").GetString().ShouldBe("consent");
    }

    /// <summary>Redriven, the intruder's submission is still an impostor: recorded for review, no decision, no status view told.</summary>
    [Fact]
    public async Task Redrive_OfAMessageThatCameThroughAnotherServicesWayIn_IsStillNotDecided()
    {
        var poisoned = poison.Intruder;
        await GateErrorQueuePeek.WaitUntilParkedAsync(hub.Hub, poisoned.MessageId, Ct);
        await poison.CureAsync(poisoned);
        using var mvc = hub.Client("mvc-ehr");
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var redrive = await poison.ErrorsAsync("redrive", poisoned.MessageId.ToString());

        redrive.ExitCode.ShouldBe(0, redrive.Output);
        await Eventually.MatchAsync(() => poison.ConflictsAsync(poisoned.MessageId), count => count == 1, TimeSpan.FromSeconds(30),
            count => $"{count} conflict entries for the redriven intruder", TimeSpan.FromMilliseconds(100), Ct);
        (await poison.LedgerEntriesAsync(poisoned.MessageId, "decision")).ShouldBe(0);
        (await mvc.GetAsync(poisoned.StatusUrl, Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bvc.GetAsync($"/child-health/units/{DemoRequests.ChildHealthUnit}/inbox/{poisoned.MessageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// What comes through the redrive exchange is decided as a first arrival, through the way in stamped on it: without
    /// exactly one stamp it is refused, consent or not; stamped with a way in not the sender's own, it is an impostor's,
    /// recorded as a conflict and not decided ("Conflict" below: no status for the sender, nothing delivered).
    /// </summary>
    [Theory]
    [InlineData("submissions.child-health", null, "Delivered", null)]
    [InlineData(null, null, "Refused", "redriven without the way it first came in")]
    [InlineData("submissions.child-health", "submissions.child-health", "Refused", "redriven without the way it first came in")]
    [InlineData("submissions.maternity-care", null, "Conflict", null)]
    [InlineData("redrive.consent-gate", null, "Conflict", null)]
    public async Task Redriven_ByWayInStamp_IsDecidedThroughThatWayIn(string? stamp, string? secondStampInOtherCase, string status, string? reason)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var submission = new SubmitDisclosure
        {
            MessageId = Guid.CreateVersion7(),
            SendingUnit = DemoRequests.ChildHealthUnit,
            ReceivingUnit = DemoRequests.SocialServicesUnit,
            Purpose = Purpose.Referral,
            Categories = [InformationCategory.FamilySituation],
            SubjectId = subject,
            Content = """{"reason":"Put back through the redrive exchange by the gate's own user."}""",
            ActingSystem = DemoRequests.ChildHealthClient,
            SubmittedAt = DateTimeOffset.UtcNow,
        };
        var headers = new Dictionary<string, object?>();
        if (stamp is not null)
        {
            headers[WayIn.Header] = stamp;
        }

        if (secondStampInOtherCase is not null)
        {
            headers[WayIn.Header.ToLowerInvariant()] = secondStampInOtherCase;
        }

        await using (var connection = await RawAmqp.ConnectAsync(hub.Hub, "consent", Ct))
        await using (var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct))
        {
            await RawAmqp.PublishAsync(channel, Queues.RedriveExchangeOf(Queues.Gate), "", submission, submission.MessageId, Ct, headers);
        }

        if (status == "Conflict")
        {
            await Eventually.MatchAsync(() => poison.ConflictsAsync(submission.MessageId), count => count == 1, TimeSpan.FromSeconds(30),
                count => $"{count} conflict entries for the redriven submission", TimeSpan.FromMilliseconds(100), Ct);
            (await poison.LedgerEntriesAsync(submission.MessageId, "decision")).ShouldBe(0);
            (await bvc.GetAsync($"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{submission.MessageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            return;
        }

        var decided = await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{submission.MessageId}", status);
        if (reason is not null)
        {
            decided.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldBe([reason]);
        }
    }

    [Theory]
    [InlineData(new[] { "redrive", "0190f5a0-0000-7000-8000-000000000000" }, 1)]
    [InlineData(new[] { "redrive" }, 64)]
    [InlineData(new[] { "redrive", "not-a-message-id" }, 64)]
    [InlineData(new[] { "purge" }, 64)]
    public async Task Errors_WithAnUnknownIdOrUnknownArguments_ExitsWithItsCode(string[] arguments, int exitCode)
    {
        var result = await poison.ErrorsAsync(arguments);

        result.ExitCode.ShouldBe(exitCode, result.Output);
    }

    /// <summary>The listing line of a parked message, as key → value.</summary>
    private Dictionary<string, string> Listed(PoisonedReferral poisoned)
    {
        var line = poison.Listing.Output.Split('\n').SingleOrDefault(l => l.StartsWith($"message-id={poisoned.MessageId} ", StringComparison.Ordinal))
            ?? throw new ShouldAssertException($"message {poisoned.MessageId} is not listed:{Environment.NewLine}{poison.Listing.Output}");
        return line.TrimEnd().Split("  ").Select(pair => pair.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
    }

    /// <summary>
    /// The gate has taken everything from its queue: nothing ready, and (as the broker's consumer count cannot say what
    /// is in flight) a moment for what it took last.
    /// </summary>
    private static async Task WaitUntilTheGateIsIdleAsync(IChannel channel)
    {
        await Eventually.TrueAsync(
            async () => (await channel.QueueDeclarePassiveAsync(Queues.Gate, Ct)).MessageCount == 0,
            TimeSpan.FromSeconds(30), "the gate did not take its messages", TimeSpan.FromMilliseconds(100), Ct);

        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
    }
}
