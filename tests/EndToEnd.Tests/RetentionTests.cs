using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>A hub whose social services keep an acknowledged body no time at all, and look every second.</summary>
public sealed class ShortRetentionHubFixture() : OwnNodesHubFixture(new HubOptions
{
    UseFreePorts = true,
    ConfigureEnvironment = (process, environment) =>
    {
        if (process == "social-services")
        {
            environment["Retention__DefaultAfterAcknowledgement"] = "00:00:00";
            // A report of concern by its own period, far away: the rule per message type is kept apart from the default.
            environment["Retention__AfterAcknowledgement__ReportOfConcern"] = "3650.00:00:00";
            environment["Retention__Interval"] = "00:00:01";
        }
    },
});

/// <summary>
/// Retention (issue 14 item 6): an acknowledged body is deleted once its time has passed, and a withdrawn body at once;
/// each row's metadata stays, and nothing deleted can be fetched again.
/// </summary>
public sealed class RetentionTests(ShortRetentionHubFixture hub) : IClassFixture<ShortRetentionHubFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AcknowledgedBody_PastItsRetention_IsDeletedAndItsMetadataKept()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var (messageId, statusUrl) = await SubmitAsync(bvc, subject);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "kept until acknowledged");

        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var row = await Eventually.MatchAsync(() => RowAsync(messageId), r => r?.BodyDeletedAt is not null, TimeSpan.FromSeconds(20),
            r => $"the acknowledged body was not deleted ({r})", cancellationToken: Ct);
        row!.HasContent.ShouldBeFalse();
        row.HasSubject.ShouldBeFalse();
        row.Purpose.ShouldBe("Referral");
        row.AcknowledgedAt.ShouldNotBeNull();
        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var listed = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?includeAcknowledged=true&limit=500", Ct);
        listed.GetProperty("items").EnumerateArray().ShouldNotContain(i => i.GetProperty("messageId").GetGuid() == messageId);
        // The sender's view of the message is metadata, and stays.
        (await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Acknowledged")).GetProperty("messageId").GetGuid().ShouldBe(messageId);
        // Its unit and purpose are logged, never the subject.
        hub.Hub.Services["social-services"].LogTail(400).ShouldContain("Retention: deleted");
        hub.Hub.Services["social-services"].LogTail(400).ShouldNotContain(subject);
    }

    [Fact]
    public async Task UnacknowledgedBody_IsKept()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var (messageId, statusUrl) = await SubmitAsync(bvc, subject);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        await Task.Delay(TimeSpan.FromSeconds(3), Ct); // three retention runs
        var row = await RowAsync(messageId);
        row.ShouldNotBeNull().HasContent.ShouldBeTrue();
        row.BodyDeletedAt.ShouldBeNull();
        (await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    /// <summary>What the sender showed for a harm assessment is kept with the body, and goes with it.</summary>
    [Fact]
    public async Task AcknowledgedBody_PastItsRetention_TakesItsBasisEvidenceWithIt()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, new
        {
            receivingUnit = DemoRequests.SocialServicesUnit, subjectId = subject, categories = new[] { "ParentingSupport" },
            reason = "Föräldrastöd; bedömt utan men.", actingUser = "SE2321000016-BVC1",
            basis = new { basis = "harm-assessment", assessmentReference = "BVC-journal 2026-11-28 anteckning 6", assessor = "SE2321000016-BVC9" },
        }, Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync(Ct));
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var messageId = body.GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Delivered");
        (await RowAsync(messageId)).ShouldNotBeNull().HasEvidence.ShouldBeTrue("kept with the body until it is deleted");

        (await social.PostAsync($"{DemoRequests.InboxPath}/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var row = await Eventually.MatchAsync(() => RowAsync(messageId), r => r?.BodyDeletedAt is not null, TimeSpan.FromSeconds(20),
            r => $"the acknowledged body was not deleted ({r})", cancellationToken: Ct);
        row!.HasContent.ShouldBeFalse();
        row.HasEvidence.ShouldBeFalse("the justification and references are free text, deleted with the body");
    }

    [Fact]
    public async Task WithdrawnBody_IsDeletedAtOnce_InTheWithdrawal()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        var consent = await (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct))
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        var (messageId, statusUrl) = await SubmitAsync(bvc, subject);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Delivered");

        (await bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{consent.GetProperty("id").GetGuid()}/revoke",
            new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" }, Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Withdrawn");

        var row = (await RowAsync(messageId)).ShouldNotBeNull();
        row.WithdrawnAt.ShouldNotBeNull();
        row.HasContent.ShouldBeFalse("the withdrawal deletes the body in its own transaction");
        row.HasSubject.ShouldBeFalse();
        row.BodyDeletedAt.ShouldBe(row.WithdrawnAt);
    }

    private static async Task<(Guid MessageId, string StatusUrl)> SubmitAsync(HttpClient bvc, string subject)
    {
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return (body.GetProperty("messageId").GetGuid(), body.GetProperty("statusUrl").GetString()!);
    }

    private async Task<InboxRow?> RowAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("social-services"));
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            """
            SELECT content IS NOT NULL, subject_id IS NOT NULL, purpose, acknowledged_at, withdrawn_at, body_deleted_at, basis_evidence IS NOT NULL
            FROM inbox WHERE message_id = @id
            """, connection);
        command.Parameters.AddWithValue("id", messageId);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        return await reader.ReadAsync(Ct)
            ? new InboxRow(reader.GetBoolean(0), reader.GetBoolean(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), reader.GetBoolean(6))
            : null;
    }

    private sealed record InboxRow(
        bool HasContent, bool HasSubject, string Purpose, DateTimeOffset? AcknowledgedAt, DateTimeOffset? WithdrawnAt, DateTimeOffset? BodyDeletedAt, bool HasEvidence);
}
