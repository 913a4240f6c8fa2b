using System.Security.Claims;
using Dapper;
using FamiljecentralHub.Ops.Features.Console;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Flows;

public sealed record FlowCount(string Month, string? FamilyCentre, string SendingOperation, string ReceivingOperation, string Purpose, string Status, long? Messages);

/// <summary>One lifecycle step of one message. A class, not a record: Dapper fills properties, and Npgsql reports text[] as System.Array.</summary>
public sealed class MessageTrail
{
    public Guid MessageId { get; init; }
    public string Status { get; init; } = "";
    public string SendingUnit { get; init; } = "";
    public string ReceivingUnit { get; init; } = "";
    public string Purpose { get; init; } = "";
    public string SubjectPseudonym { get; init; } = "";
    public string? Basis { get; init; }
    public string[] Reasons { get; init; } = [];
    public DateTimeOffset OccurredAt { get; init; }
}

internal static class FlowsApi
{
    /// <summary>Counts below this are shown as null: a family centre is small, and a count of one can single a family out.</summary>
    public const int SuppressBelow = 5;

    public static IEndpointRouteBuilder MapFlowsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/flows", Flows)
            .WithSummary("Messages per month, family centre, pair of operations, purpose and status; small counts suppressed.");
        app.MapGet("/messages/{messageId:guid}", Trail)
            .WithSummary("One message's way through the hub, step by step; metadata and the subject's pseudonym only.");
        return app;
    }

    /// <summary>Messages per month, family centre, pair of operations, purpose and status (domain.md section 7).</summary>
    private static async Task<Ok<IReadOnlyList<FlowCount>>> Flows(ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Month, string? FamilyCentre, string SendingOperation, string ReceivingOperation, string Purpose, string Status, long Messages)>(
            $"""
            SELECT to_char(date_trunc('month', occurred_at AT TIME ZONE 'Europe/Stockholm'), 'YYYY-MM'), family_centre,
                   sending_operation, receiving_operation, purpose, status, count(*)
            FROM message_events WHERE {OperatorScope.Filter}
            GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
            """,
            new { scope.All, scope.UnitList });
        return TypedResults.Ok<IReadOnlyList<FlowCount>>(rows
            .Select(r => new FlowCount(r.Month, r.FamilyCentre, r.SendingOperation, r.ReceivingOperation, r.Purpose, r.Status,
                r.Messages < SuppressBelow ? null : r.Messages))
            .ToList());
    }

    /// <summary>One message's way through the hub, for operations staff following up a question: metadata only.</summary>
    private static async Task<Ok<IReadOnlyList<MessageTrail>>> Trail(Guid messageId, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<MessageTrail>(
            $"""
            SELECT message_id AS MessageId, status AS Status, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
                   subject_pseudonym AS SubjectPseudonym, basis AS Basis, reasons AS Reasons, occurred_at AS OccurredAt
            FROM message_events WHERE message_id = @messageId AND {OperatorScope.Filter}
            ORDER BY occurred_at
            """,
            new { messageId, scope.All, scope.UnitList });
        return TypedResults.Ok<IReadOnlyList<MessageTrail>>(rows.ToList());
    }
}
