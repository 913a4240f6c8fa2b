using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A permit is bound to exactly one message (issue 10, finding 1). At the edge, an Idempotency-Key binds to one request:
/// the same key with another request is refused with 422 and nothing is sent. In depth, at the gate, a decision binds to
/// the digest of the submission it decided: a second submission under a decided id with another body is never delivered,
/// and the ledger and operations see it as a conflict.
/// </summary>
public sealed class PermitBindingTests(HubFixture hub)
{
    private const string Bvc = DemoRequests.ChildHealthUnit;
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Intake = "malmo-mottagning";
    private const string ReportPath = $"/child-health/units/{Bvc}/reports-of-concern";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Pseudonymizer Pseudonyms { get; } = new(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey }));

    [Fact]
    public async Task SameKey_ForAnotherMessageAfterAPermittedReportOfConcern_Is422AndNothingReachesItsReceiver()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var (reported, other) = (HubFixture.NewSubject(), HubFixture.NewSubject());
        var key = $"permit-{Guid.NewGuid():N}";

        var first = await PostAsync(bvc, ReportPath, Report(reported), key);
        first.StatusCode.ShouldBe(HttpStatusCode.Accepted, await first.Content.ReadAsStringAsync(Ct));
        var submitted = await first.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = submitted.GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(bvc, submitted.GetProperty("statusUrl").GetString()!, "Delivered");
        await WaitUntilAsync(async () => await LedgerEntriesAsync(messageId, "delivery") == 1, "the delivery never reached the ledger");
        var ledgerBefore = await LedgerOfMessageAsync(messageId);

        var reused = await PostAsync(bvc, DemoRequests.ReferralPath, new
        {
            receivingUnit = Preschool,
            subjectId = other,
            categories = new[] { "FamilySituation", "ChildHealth" },
            reason = "Ett annat barn, en annan mottagare, inget samtycke.",
            actingUser = "SE2321000016-BVC1",
        }, key);

        reused.StatusCode.ShouldBe((HttpStatusCode)422);
        reused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await reused.Content.ReadAsStringAsync(Ct);
        problem.ShouldNotContain(other, customMessage: "the refusal repeats no identity number");
        problem.ShouldNotContain("Ett annat barn", customMessage: "the refusal repeats no free text");

        await Task.Delay(TimeSpan.FromSeconds(2), Ct); // room for a delivery, were there one
        var inbox = await preschool.GetFromJsonAsync<JsonElement>($"/open-preschool/units/{Preschool}/inbox?limit=500&includeAcknowledged=true", Ct);
        inbox.GetProperty("items").EnumerateArray().ShouldNotContain(i => i.GetProperty("subjectId").GetString() == other);
        inbox.GetProperty("items").EnumerateArray().ShouldNotContain(i => i.GetProperty("messageId").GetGuid() == messageId);
        (await LedgerOfSubjectAsync(other)).ShouldBe(0, "the refused request never reached the gate");
        (await LedgerOfMessageAsync(messageId)).ShouldBe(ledgerBefore);

        // The same key with the same request is still the same message.
        var again = await PostAsync(bvc, ReportPath, Report(reported), key);
        again.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await again.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid().ShouldBe(messageId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\tinside")]
    [InlineData(null)] // 256 characters; keys beyond ASCII HttpClient will not send (IdempotencyKeyTests has them)
    public async Task InvalidKey_Is400AndNothingIsSent(string? key)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();

        var response = await PostAsync(bvc, ReportPath, Report(subject), key ?? new string('k', 256), validateKey: false);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("Idempotency-Key");
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        (await LedgerOfSubjectAsync(subject)).ShouldBe(0);
    }

    /// <summary>
    /// Past the edge (a bug or a breach in an operation service): a submission published straight to the gate under an
    /// id it has already decided, with another body. It must not be delivered; the ledger records the conflict and
    /// operations see it.
    /// </summary>
    [Fact]
    public async Task Gate_AnotherBodyUnderADecidedId_IsNeverDeliveredAndIsAConflictInTheLedger()
    {
        using var preschool = hub.Client("forskola-system");
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var decided = Submission(HubFixture.NewSubject());
        var other = HubFixture.NewSubject();
        var forged = decided with
        {
            ReceivingUnit = Preschool,
            Purpose = Purpose.Referral,
            SubjectId = other,
            Categories = [InformationCategory.ChildHealth],
            Content = """{"reason":"Ett annat barn."}""",
            SubmittedAt = DateTimeOffset.UtcNow,
        };

        await PublishToGateAsync(decided);
        await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{Bvc}/sent/{decided.MessageId}", "Delivered");
        await WaitUntilAsync(async () => await LedgerEntriesAsync(decided.MessageId, "delivery") == 1, "the delivery never reached the ledger");
        await PublishToGateAsync(forged);
        await WaitForLedgerConflictAsync(decided.MessageId);

        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        (await preschool.GetAsync($"/open-preschool/units/{Preschool}/inbox/{decided.MessageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var intakeItem = await social.GetFromJsonAsync<JsonElement>($"/social-services/units/{Intake}/inbox/{decided.MessageId}", Ct);
        intakeItem.GetProperty("subjectId").GetString().ShouldBe(decided.SubjectId, "the first, decided message is the one delivered");
        (await LedgerEntriesAsync(decided.MessageId, "decision")).ShouldBe(1);
        (await LedgerEntriesAsync(decided.MessageId, "delivery")).ShouldBe(1);
        (await LedgerOfSubjectAsync(other)).ShouldBe(1, "the conflict, under the forged subject's pseudonym, and nothing else");

        // Operations see it, metadata only: the sender's status view marks the message, Ops' trail lists the conflict.
        await WaitUntilAsync(async () => (await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{Bvc}/sent/{decided.MessageId}", Ct))
            .TryGetProperty("conflictAt", out var at) && at.ValueKind == JsonValueKind.String, "the sender's status view shows no conflict");
        (await bvc.GetFromJsonAsync<JsonElement>($"/child-health/units/{Bvc}/sent/{decided.MessageId}", Ct))
            .GetProperty("status").GetString().ShouldBe("Delivered", "the decided message's own status stands");
        using var ops = hub.Client("ops-console");
        await WaitUntilAsync(async () => (await ops.GetFromJsonAsync<JsonElement>($"/ops/messages/{decided.MessageId}", Ct)).EnumerateArray()
            .Any(e => e.GetProperty("status").GetString() == "Conflict"), "Ops' trail shows no conflict");
        var trail = await ops.GetStringAsync($"/ops/messages/{decided.MessageId}", Ct);
        trail.ShouldNotContain(other, customMessage: "metadata only");
        trail.ShouldNotContain("Ett annat barn", customMessage: "metadata only");

        var verified = await hub.Hub.Services["consent"].RunCommandAsync(["verify-ledger"], TimeSpan.FromMinutes(2), Ct);
        verified.ExitCode.ShouldBe(0, verified.Output);
    }

    [Fact]
    public async Task Gate_TheSameSubmissionTwice_IsDecidedAndDeliveredOnce()
    {
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var decided = Submission(HubFixture.NewSubject());

        await PublishToGateAsync(decided);
        await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{Bvc}/sent/{decided.MessageId}", "Delivered");
        await WaitUntilAsync(async () => await LedgerEntriesAsync(decided.MessageId, "delivery") == 1, "the delivery never reached the ledger");
        await PublishToGateAsync(decided with { SubmittedAt = DateTimeOffset.UtcNow }); // a retry after an unconfirmed publish
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);

        var inbox = await social.GetFromJsonAsync<JsonElement>($"/social-services/units/{Intake}/inbox?limit=500&includeAcknowledged=true", Ct);
        inbox.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("messageId").GetGuid() == decided.MessageId).ShouldBe(1);
        (await LedgerEntriesAsync(decided.MessageId, "decision")).ShouldBe(1);
        (await LedgerEntriesAsync(decided.MessageId, "delivery")).ShouldBe(1);
        (await ConflictsAsync(decided.MessageId)).ShouldBe(0);
    }

    /// <summary>
    /// In depth at the receiver: only the gate may deliver, and it delivers only what it decided; should another body
    /// under a stored id reach the inbox all the same, the stored row stays as it is and operations see a conflict.
    /// </summary>
    [Fact]
    public async Task Inbox_AnotherBodyUnderAStoredId_NeverReplacesTheRowAndIsAConflict()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        using var ops = hub.Client("ops-console");
        var reported = HubFixture.NewSubject();
        // The first through the gate, as every delivery comes; the second straight from the gate's broker user under the
        // same id with another body, as a gate at fault would send it.
        var first = await PostAsync(bvc, ReportPath, Report(reported), $"permit-{Guid.NewGuid():N}");
        first.StatusCode.ShouldBe(HttpStatusCode.Accepted, await first.Content.ReadAsStringAsync(Ct));
        var messageId = (await first.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
        var itemPath = $"/social-services/units/{Intake}/inbox/{messageId}";
        await WaitUntilAsync(async () => (await social.GetAsync(itemPath, Ct)).StatusCode == HttpStatusCode.OK, "the first delivery never reached the inbox");
        var stored = (await social.GetFromJsonAsync<JsonElement>(itemPath, Ct)).GetProperty("content").GetRawText();
        var second = new DeliverDisclosure
        {
            Disclosure = Submission(HubFixture.NewSubject()) with { MessageId = messageId, Content = """{"concern":"Ett annat barn."}""" },
            Basis = "report-of-concern",
            PermittedAt = DateTimeOffset.UtcNow,
        };

        await PublishAsGateAsync(second);

        await WaitUntilAsync(async () => (await ops.GetFromJsonAsync<JsonElement>($"/ops/messages/{messageId}", Ct)).EnumerateArray()
            .Any(e => e.GetProperty("status").GetString() == "Conflict"), "Ops' trail shows no conflict");
        var item = await social.GetFromJsonAsync<JsonElement>(itemPath, Ct);
        item.GetProperty("subjectId").GetString().ShouldBe(reported);
        item.GetProperty("content").GetRawText().ShouldBe(stored);
    }

    private static object Report(string subject) => new
    {
        receivingUnit = Intake,
        subjectId = subject,
        concern = "Blåmärken på armarna vid två besök.",
        actingUser = "SE2321000016-BVC1",
    };

    /// <summary>A report of concern from BVC to the intake, as the child-health service would submit it.</summary>
    private static SubmitDisclosure Submission(string subject) => new()
    {
        MessageId = Guid.CreateVersion7(),
        SendingUnit = Bvc,
        ReceivingUnit = Intake,
        Purpose = Purpose.ReportOfConcern,
        Categories = [InformationCategory.FamilySituation],
        SubjectId = subject,
        Content = """{"concern":"Blåmärken på armarna."}""",
        ActingSystem = DemoRequests.ChildHealthClient,
        ActingUser = "SE2321000016-BVC1",
        SubmittedAt = DateTimeOffset.UtcNow,
    };

    private async Task PublishToGateAsync(SubmitDisclosure submission)
    {
        await using var connection = await RawAmqp.ConnectAsync(hub.Hub, "child-health", Ct);
        await using var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct);
        await RawAmqp.PublishAsync(channel, "submissions.child-health", "", submission, submission.MessageId, Ct);
    }

    private async Task PublishAsGateAsync(DeliverDisclosure delivery)
    {
        await using var connection = await RawAmqp.ConnectAsync(hub.Hub, "consent", Ct);
        await using var channel = await RawAmqp.OpenConfirmingChannelAsync(connection, Ct);
        await RawAmqp.PublishAsync(channel, "deliveries.social-services", "", delivery, delivery.Disclosure.MessageId, Ct);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, object body, string key, bool validateKey = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (validateKey)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return await client.SendAsync(request, Ct);
    }

    private async Task WaitForLedgerConflictAsync(Guid messageId) =>
        await WaitUntilAsync(async () => await ConflictsAsync(messageId) > 0, $"no conflict for {messageId} in the ledger");

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string failure) =>
        Eventually.TrueAsync(condition, TimeSpan.FromSeconds(30), failure, cancellationToken: Ct);

    private Task<long> ConflictsAsync(Guid messageId) =>
        QueryCountAsync("SELECT count(*) FROM ledger WHERE message_id = @messageId AND kind LIKE 'conflict%'", new { messageId });

    private Task<long> LedgerEntriesAsync(Guid messageId, string kind) =>
        QueryCountAsync("SELECT count(*) FROM ledger WHERE message_id = @messageId AND kind = @kind", new { messageId, kind });

    private Task<long> LedgerOfMessageAsync(Guid messageId) =>
        QueryCountAsync("SELECT count(*) FROM ledger WHERE message_id = @messageId", new { messageId });

    private Task<long> LedgerOfSubjectAsync(string subject) =>
        QueryCountAsync("SELECT count(*) FROM ledger WHERE subject_pseudonym = @pseudonym", new { pseudonym = Pseudonyms.For(subject) });

    private async Task<long> QueryCountAsync(string sql, object parameters)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }
}
