using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>A consent behind messages the receiving system already fetched has been revoked, or no longer covers them.</summary>
public sealed class RevocationNotice
{
    public long Cursor { get; init; }
    public Guid ConsentId { get; init; }
    public Guid[] MessageIds { get; init; } = [];
    public DateTimeOffset RevokedAt { get; init; }

    /// <summary>
    /// Null when the consent was revoked. Otherwise the consent stands, but a change (a version that narrows it, a grantor
    /// no longer a guardian) took away its cover of the messages listed; this id names that change.
    /// </summary>
    public Guid? ChangeId { get; init; }
}

internal static class NoticesApi
{
    public static void MapNoticesApi(this RouteGroupBuilder units)
    {
        units.MapGet("/notices", List)
            .WithSummary("Notices to the unit that a consent it received messages under was revoked, narrowed or lost its grantor; message ids only.");
    }

    private static async Task<Results<Ok<IReadOnlyList<RevocationNotice>>, ValidationProblem>> List(
        string unitId, long? after, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (after < 0)
        {
            return Paging.Problem("after", "must be the cursor of a notice");
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var notices = await connection.QueryAsync<RevocationNotice>(
            """
            SELECT seq AS Cursor, consent_id AS ConsentId, message_ids AS MessageIds, revoked_at AS RevokedAt, change_id AS ChangeId
            FROM revocation_notices WHERE receiving_unit = @unitId AND seq > @after ORDER BY seq LIMIT 500
            """,
            new { unitId, after = after ?? 0 });
        return TypedResults.Ok<IReadOnlyList<RevocationNotice>>(notices.ToList());
    }
}
