using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace FamiljecentralHub.Operations.Status;

/// <summary>What the sender sees of its message: metadata and lifecycle, never the body, never the subject's number.</summary>
public sealed record SentMessage(
    Guid MessageId,
    string SendingUnit,
    string ReceivingUnit,
    Purpose Purpose,
    DisclosureStatus Status,
    IReadOnlyList<string> Reasons,
    string? Basis,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? DecidedAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? WithdrawnAt,
    DateTimeOffset? ConflictAt = null);

public sealed record SentPage(IReadOnlyList<SentMessage> Items, string? Next);

internal static class StatusApi
{
    private const string Columns = """
        message_id AS MessageId, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
        status AS Status, reasons AS Reasons, basis AS Basis, submitted_at AS SubmittedAt, decided_at AS DecidedAt,
        delivered_at AS DeliveredAt, acknowledged_at AS AcknowledgedAt, withdrawn_at AS WithdrawnAt, conflict_at AS ConflictAt
        """;

    public static void MapStatusApi(this RouteGroupBuilder units)
    {
        units.MapGet("/sent/{messageId:guid}", GetSent)
            .WithSummary("The status of one message the unit sent: where it is, the gate's basis or reasons; metadata only.");
        units.MapGet("/sent", ListSent)
            .WithSummary("The messages the unit sent, newest first, a page at a time, with their status; metadata only.");
    }

    private static async Task<Results<Ok<SentMessage>, ProblemHttpResult>> GetSent(
        string unitId, Guid messageId, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<SentRow>(
            $"SELECT {Columns} FROM sent_messages WHERE message_id = @messageId AND sending_unit = @unitId", new { messageId, unitId });
        return row is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such message", detail: "This unit has sent no message with that id.")
            : TypedResults.Ok(row.ToSentMessage());
    }

    /// <summary>Newest first, paged by message id (ids are time-ordered).</summary>
    private static async Task<Results<Ok<SentPage>, ValidationProblem>> ListSent(
        string unitId, string? before, int? limit, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (Paging.CheckLimit(limit) is { } badLimit)
        {
            return badLimit;
        }

        Guid? cursor = null;
        if (before is not null)
        {
            if (!Guid.TryParse(before, out var b))
            {
                return Paging.Problem("before", "must be a message id from an earlier page");
            }

            cursor = b;
        }

        var take = limit ?? Paging.DefaultLimit;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<SentRow>(
            $"""
            SELECT {Columns} FROM sent_messages
            WHERE sending_unit = @unitId AND (@cursor::uuid IS NULL OR message_id < @cursor)
            ORDER BY message_id DESC LIMIT @take
            """,
            new { unitId, cursor, take })).Select(r => r.ToSentMessage()).ToList();
        var next = rows.Count == take ? rows[^1].MessageId.ToString() : null;
        return TypedResults.Ok(new SentPage(rows, next));
    }

    // Dapper fills properties, not positional records: Npgsql reports text[] columns as System.Array.
    private sealed class SentRow
    {
        public Guid MessageId { get; init; }
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string Status { get; init; } = "";
        public string[] Reasons { get; init; } = [];
        public string? Basis { get; init; }
        public DateTimeOffset? SubmittedAt { get; init; }
        public DateTimeOffset? DecidedAt { get; init; }
        public DateTimeOffset? DeliveredAt { get; init; }
        public DateTimeOffset? AcknowledgedAt { get; init; }
        public DateTimeOffset? WithdrawnAt { get; init; }
        public DateTimeOffset? ConflictAt { get; init; }

        public SentMessage ToSentMessage() => new(
            MessageId, SendingUnit, ReceivingUnit, Enum.Parse<Purpose>(Purpose), Enum.Parse<DisclosureStatus>(Status), Reasons, Basis,
            SubmittedAt, DecidedAt, DeliveredAt, AcknowledgedAt, WithdrawnAt, ConflictAt);
    }
}
