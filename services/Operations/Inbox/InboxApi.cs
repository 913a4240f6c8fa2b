using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Input;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>An inbox entry as the receiving system sees it: the full message, since it is the permitted receiver.</summary>
public sealed record InboxItem(
    string Cursor,
    Guid MessageId,
    string SendingUnit,
    string ReceivingUnit,
    Purpose Purpose,
    IReadOnlyList<InformationCategory> Categories,
    string SubjectId,
    JsonElement Content,
    string Basis,
    BasisEvidence? BasisEvidence,
    DateTimeOffset SubmittedAt,
    DateTimeOffset DeliveredAt,
    DateTimeOffset? AcknowledgedAt,
    string? TraceId);

public sealed record InboxPage(IReadOnlyList<InboxItem> Items, string? Next);

/// <summary>Messages a receiving system has taken into its own records, at most <see cref="InputLimits.MaxListItems"/> at once.</summary>
public sealed record Acknowledgements(IReadOnlyList<Guid>? MessageIds);

/// <summary>
/// What became of each id: acknowledged (now or before), or not in this unit's inbox (never delivered to it, or
/// withdrawn); the same answer for each as the one-message acknowledgement's 204 or 404.
/// </summary>
public sealed record AcknowledgementResult(IReadOnlyList<Guid> Acknowledged, IReadOnlyList<Guid> NotInInbox);

internal static class InboxApi
{
    // Shared with the webhook dispatcher, so a push carries exactly what a pull returns.
    internal const string Columns = """
        seq AS Seq, message_id AS MessageId, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
        categories AS Categories, subject_id AS SubjectId, content::text AS Content, basis AS Basis,
        basis_evidence::text AS BasisEvidence, submitted_at AS SubmittedAt,
        delivered_at AS DeliveredAt, acknowledged_at AS AcknowledgedAt, trace_id AS TraceId
        """;

    public static void MapInboxApi(this RouteGroupBuilder units)
    {
        units.MapGet("/inbox", List)
            .WithSummary("The messages delivered to the unit and not yet acknowledged, oldest first, a page at a time, with their bodies (each marked fetched); `wait` seconds for the first when there is none.");
        units.MapGet("/inbox/{messageId:guid}", Get)
            .WithSummary("Fetches one delivered message with its body: the disclosure the gate permitted to this unit.");
        units.MapPost("/inbox/{messageId:guid}/acknowledge", Acknowledge)
            .WithSummary("Acknowledges a fetched message: the receiving system has taken it into its own records.");
        units.MapPost("/inbox/acknowledge", AcknowledgeMany)
            .WithSummary("Acknowledges up to 100 messages at once; says which were acknowledged and which are not in the inbox.");
    }

    /// <summary>
    /// Oldest first from a cursor, so a receiving system can page through and resume where it left off. Items it has
    /// acknowledged stay out of the default listing; withdrawn items never appear. With <c>wait</c> (seconds), a listing
    /// that finds nothing waits up to that long for a delivery and answers as soon as one is stored (InboxWaits).
    /// </summary>
    private static async Task<Results<Ok<InboxPage>, ValidationProblem>> List(
        string unitId, string? after, int? limit, bool? includeAcknowledged, int? wait, NpgsqlDataSource db, InboxWaits waits,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Paging.CheckLimit(limit) is { } badLimit)
        {
            return badLimit;
        }

        long cursor = 0;
        if (after is not null && (!long.TryParse(after, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out cursor) || cursor < 0))
        {
            return Paging.Problem("after", "must be the cursor of an inbox item");
        }

        var maxWait = waits.Options.MaxWaitSeconds;
        if (wait is < 0 || wait > maxWait)
        {
            return Paging.Problem("wait", $"must be from 0 to {maxWait} seconds");
        }

        var take = limit ?? Paging.DefaultLimit;
        var sql = PageSql(includeAcknowledged ?? false);
        var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(wait ?? 0);
        var delivered = waits.NextDelivery(unitId);
        var rows = await ReadPageAsync(db, sql, unitId, cursor, take, clock, cancellationToken);
        if (rows.Count == 0 && wait > 0 && waits.TryEnter(unitId))
        {
            try
            {
                while (rows.Count == 0 && clock.GetUtcNow() is var now && now < deadline)
                {
                    var lookAgain = TimeSpan.FromTicks(Math.Min((deadline - now).Ticks, waits.Options.LookAgainEvery.Ticks));
                    await Task.WhenAny(delivered, Task.Delay(lookAgain, clock, cancellationToken));
                    cancellationToken.ThrowIfCancellationRequested();
                    delivered = waits.NextDelivery(unitId);
                    rows = await ReadPageAsync(db, sql, unitId, cursor, take, clock, cancellationToken);
                }
            }
            finally
            {
                waits.Leave(unitId);
            }
        }

        var next = rows.Count == take ? rows[^1].Cursor : null;
        return TypedResults.Ok(new InboxPage(rows, next));
    }

    private static async Task<List<InboxItem>> ReadPageAsync(
        NpgsqlDataSource db, string sql, string unitId, long cursor, int take, TimeProvider clock, CancellationToken cancellationToken)
    {
        // A connection per read: a listing that waits holds none while it waits.
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<InboxRow>(sql, new { unitId, cursor, take, now = clock.GetUtcNow() }))
            .OrderBy(r => r.Seq).Select(r => r.ToItem()).ToList();
    }

    /// <summary>
    /// A page of the unit's inbox from a cursor (parameters unitId, cursor, take, now). Two texts, not one with a
    /// parameter: the statement is prepared, and PostgreSQL's generic plan for "@includeAcknowledged OR acknowledged_at
    /// IS NULL" cannot use the index of waiting rows (migration 0010), so every poll walked the unit's whole history.
    /// Only rows listed for the first time are written (marked fetched, under their lock, so a revocation either
    /// withdraws a row before this or finds it fetched); rows fetched before are read as they are, since a receiver
    /// that lists again without acknowledging would otherwise write every waiting row, and its indexes, on every poll.
    /// </summary>
    internal static string PageSql(bool includeAcknowledged) =>
        $"""
        WITH page AS (
            SELECT seq, fetched_at IS NULL AS first FROM inbox
            WHERE receiving_unit = @unitId AND seq > @cursor AND withdrawn_at IS NULL AND body_deleted_at IS NULL
              {(includeAcknowledged ? "" : "AND acknowledged_at IS NULL")}
            ORDER BY seq LIMIT @take),
        marked AS (
            UPDATE inbox SET fetched_at = COALESCE(fetched_at, @now)
            WHERE seq IN (SELECT seq FROM page WHERE first)
              -- Again here: when a revocation withdraws a row while this waits for its lock, PostgreSQL re-checks only
              -- this outer condition on the new row version, not the subquery's.
              AND withdrawn_at IS NULL AND body_deleted_at IS NULL
            RETURNING {Columns})
        SELECT * FROM marked
        UNION ALL
        SELECT {Columns} FROM inbox WHERE seq IN (SELECT seq FROM page WHERE NOT first)
        """;

    private static async Task<Results<Ok<InboxItem>, ProblemHttpResult>> Get(
        string unitId, Guid messageId, NpgsqlDataSource db, TimeProvider clock, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<InboxRow>(
            $"""
            UPDATE inbox SET fetched_at = COALESCE(fetched_at, @now)
            WHERE message_id = @messageId AND receiving_unit = @unitId AND withdrawn_at IS NULL AND body_deleted_at IS NULL
            RETURNING {Columns}
            """,
            new { unitId, messageId, now = clock.GetUtcNow() });
        return row is null ? NotInInbox() : TypedResults.Ok(row.ToItem());
    }

    /// <summary>
    /// Acknowledging twice is harmless: the second call finds the row acknowledged and tells the sender again, which
    /// also heals a first call whose status event was lost with a broker outage.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Acknowledge(
        string unitId, Guid messageId, NpgsqlDataSource db, IPublishEndpoint publish, Pseudonymizer pseudonyms, TimeProvider clock,
        HttpContext http, CancellationToken cancellationToken)
    {
        var (acknowledged, told) = await AcknowledgeAsync(unitId, [messageId], db, publish, pseudonyms, clock, http, cancellationToken);
        if (acknowledged.Count == 0)
        {
            return NotInInbox();
        }

        return told ? TypedResults.NoContent() : SendersNotTold(http);
    }

    /// <summary>
    /// The same as acknowledging each message alone, in one statement and one request: what a receiving system that
    /// took a page of its inbox sends back. Ids are checked before anything is written.
    /// </summary>
    private static async Task<Results<Ok<AcknowledgementResult>, ValidationProblem, ProblemHttpResult>> AcknowledgeMany(
        string unitId, Acknowledgements acknowledgements, NpgsqlDataSource db, IPublishEndpoint publish, Pseudonymizer pseudonyms,
        TimeProvider clock, HttpContext http, CancellationToken cancellationToken)
    {
        var ids = acknowledgements.MessageIds ?? [];
        if (ids.Count == 0 || ids.Count > InputLimits.MaxListItems || ids.Contains(Guid.Empty) || ids.Distinct().Count() != ids.Count)
        {
            return Paging.Problem("messageIds", $"must name from 1 to {InputLimits.MaxListItems} distinct messages");
        }

        var (acknowledged, told) = await AcknowledgeAsync(unitId, ids, db, publish, pseudonyms, clock, http, cancellationToken);
        if (!told)
        {
            return SendersNotTold(http);
        }

        return TypedResults.Ok(new AcknowledgementResult([.. ids.Where(acknowledged.Contains)], [.. ids.Where(id => !acknowledged.Contains(id))]));
    }

    /// <summary>
    /// Marks the unit's messages among <paramref name="ids"/> acknowledged (again, harmlessly, when they were) and tells
    /// each sender; <c>Told</c> is false when the rows are stored but an event could not be published, which acknowledging
    /// again heals.
    /// </summary>
    private static async Task<(HashSet<Guid> Acknowledged, bool Told)> AcknowledgeAsync(
        string unitId, IReadOnlyCollection<Guid> ids, NpgsqlDataSource db, IPublishEndpoint publish, Pseudonymizer pseudonyms,
        TimeProvider clock, HttpContext http, CancellationToken cancellationToken)
    {
        List<AcknowledgedRow> rows;
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        {
            rows = (await connection.QueryAsync<AcknowledgedRow>(
                """
                UPDATE inbox SET acknowledged_at = COALESCE(acknowledged_at, @now), fetched_at = COALESCE(fetched_at, @now)
                WHERE message_id = ANY(@ids) AND receiving_unit = @unitId AND withdrawn_at IS NULL AND body_deleted_at IS NULL
                RETURNING message_id AS MessageId, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
                          categories AS Categories, subject_id AS SubjectId, basis AS Basis, acknowledged_at AS AcknowledgedAt
                """,
                new { unitId, ids = ids.ToArray(), now = clock.GetUtcNow() })).ToList();
        }

        try
        {
            var actingSystem = http.User.ClientId();
            var changes = rows.Select(row => new DisclosureStatusChanged
            {
                MessageId = row.MessageId,
                Status = DisclosureStatus.Acknowledged,
                SendingUnit = row.SendingUnit,
                ReceivingUnit = row.ReceivingUnit,
                Purpose = Enum.Parse<Purpose>(row.Purpose),
                SubjectPseudonym = pseudonyms.For(row.SubjectId),
                Basis = row.Basis,
                Categories = row.Categories.Select(Enum.Parse<InformationCategory>).ToList(),
                ActingSystem = actingSystem,
                OccurredAt = row.AcknowledgedAt,
            });
            // One event per sending unit, not per message: each event is a delivery to the sender's status view, to Ops and
            // to the ledger, and a page of acknowledgements mostly has one sender.
            await Task.WhenAll(changes.GroupBy(change => change.SendingUnit)
                .SelectMany(group => group.Chunk(DisclosureStatusesChanged.MaxChanges))
                .Select(chunk => chunk is [var alone]
                    ? publish.Publish(alone, cancellationToken)
                    : publish.Publish(new DisclosureStatusesChanged { Changes = chunk }, cancellationToken)));
            return ([.. rows.Select(r => r.MessageId)], true);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return ([.. rows.Select(r => r.MessageId)], false);
        }
    }

    private static ProblemHttpResult SendersNotTold(HttpContext http)
    {
        http.Response.Headers.RetryAfter = "5";
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Try again shortly",
            detail: "The acknowledgement is stored but the sender could not be told yet. Acknowledge again to retry.");
    }

    private sealed class AcknowledgedRow
    {
        public Guid MessageId { get; init; }
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string[] Categories { get; init; } = [];
        public string SubjectId { get; init; } = "";
        public string Basis { get; init; } = "";
        public DateTimeOffset AcknowledgedAt { get; init; }
    }

    private static ProblemHttpResult NotInInbox() => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Not in the inbox", detail: "This unit's inbox holds no message with that id.");

    // Dapper fills properties, not positional records: Npgsql reports text[] columns as System.Array.
    internal sealed class InboxRow
    {
        public long Seq { get; init; }
        public Guid MessageId { get; init; }
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string[] Categories { get; init; } = [];
        public string SubjectId { get; init; } = "";
        public string Content { get; init; } = "{}";
        public string Basis { get; init; } = "";
        public string? BasisEvidence { get; init; }
        public DateTimeOffset SubmittedAt { get; init; }
        public DateTimeOffset DeliveredAt { get; init; }
        public DateTimeOffset? AcknowledgedAt { get; init; }
        public string? TraceId { get; init; }

        public InboxItem ToItem() => new(
            Seq.ToString(System.Globalization.CultureInfo.InvariantCulture), MessageId, SendingUnit, ReceivingUnit, Enum.Parse<Purpose>(Purpose),
            Categories.Select(Enum.Parse<InformationCategory>).ToList(), SubjectId, JsonDocument.Parse(Content).RootElement.Clone(), Basis,
            Inbox.BasisEvidence.Read(BasisEvidence), SubmittedAt, DeliveredAt, AcknowledgedAt, TraceId);
    }
}
