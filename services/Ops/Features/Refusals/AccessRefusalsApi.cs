using System.Security.Claims;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Refusals;

/// <summary>One page of refusals, oldest first; <c>Next</c> is the <c>after</c> of the next page, null on the last.</summary>
public sealed record AccessRefusalPage(IReadOnlyList<ListedRefusal> Items, long? Next);

/// <summary>A class, not a record: Dapper fills properties.</summary>
public sealed class ListedRefusal
{
    public long Seq { get; init; }
    public string Client { get; init; } = "";
    public string Route { get; init; } = "";
    public string? Unit { get; init; }
    public string Reason { get; init; } = "";
    public int Status { get; init; }
    public int Count { get; init; }
    public DateTimeOffset FirstAt { get; init; }
    public DateTimeOffset LastAt { get; init; }
}

/// <summary>
/// Refused access (401, 403) anywhere in the hub, as the gateway recorded it or a service told it: which client system,
/// which route pattern, which unit it claimed, why, when. Metadata only (docs/design-decisions.md).
/// </summary>
internal static class AccessRefusalsApi
{
    public const int MaxBatch = 1000;
    public const int MaxField = 200;
    public const int MaxPage = 500;

    public static IEndpointRouteBuilder MapAccessRefusalsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/access-refusals", List)
            .WithSummary("Requests the gateway or a service refused (who called, which route, why), oldest first, a page at a time; no request content.");
        app.MapPost("/access-refusals", Receive)
            .WithSummary("Where the gateway ships its access refusals; only the gateway may call it.");
        return app;
    }

    /// <summary>Paged by <paramref name="after"/> (a seq), filtered by client and by time (the record's last refusal).</summary>
    private static async Task<Results<Ok<AccessRefusalPage>, ValidationProblem, ProblemHttpResult>> List(
        ClaimsPrincipal caller, NpgsqlDataSource db, CancellationToken cancellationToken,
        string? client = null, DateTimeOffset? from = null, DateTimeOffset? to = null, long after = 0, int limit = 100)
    {
        // Refusals name client systems of every principal, and units only some of them: the hub's operators watch them.
        if (caller.Operates() != OperatorScopes.Hub)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Only the hub's operators see access refusals");
        }

        if (limit is < 1 or > MaxPage || after < 0 || client?.Length > MaxField)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["query"] = [$"limit is 1 to {MaxPage}, after is a seq from an earlier page, client at most {MaxField} characters"],
            });
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var items = (await connection.QueryAsync<ListedRefusal>(new CommandDefinition(
            """
            SELECT seq AS Seq, client AS Client, route AS Route, unit AS Unit, reason AS Reason, status AS Status, count AS Count,
                   first_at AS FirstAt, last_at AS LastAt
            FROM access_refusals
            WHERE seq > @after AND (@client::text IS NULL OR client = @client)
              AND (@from::timestamptz IS NULL OR last_at >= @from) AND (@to::timestamptz IS NULL OR first_at < @to)
            ORDER BY seq LIMIT @take
            """,
            new { after, client, from, to, take = limit + 1 }, cancellationToken: cancellationToken))).ToList();
        var more = items.Count > limit;
        if (more)
        {
            items.RemoveAt(items.Count - 1);
        }

        return TypedResults.Ok(new AccessRefusalPage(items, more ? items[^1].Seq : null));
    }

    /// <summary>From the gateway only: a token it signed for itself. Bounded, and all or nothing.</summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> Receive(
        AccessRefusalBatch? batch, ClaimsPrincipal caller, HttpContext context, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        if (caller.ClientId() != CallerTokenDefaults.GatewaySubject)
        {
            AccessRefusals.Mark(context, "not-the-gateway");
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: "Only the gateway records refusals.");
        }

        var refusals = batch?.Refusals;
        if (refusals is null || refusals.Count is 0 or > MaxBatch || refusals.Any(r => r is null || !Valid(r)))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["refusals"] = [$"1 to {MaxBatch} records, each with client, route and reason of at most {MaxField} characters and a positive count"],
            });
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO access_refusals (client, route, unit, reason, status, count, first_at, last_at)
            SELECT * FROM unnest(@clients, @routes, @units, @reasons, @statuses, @counts, @firsts, @lasts)
            """,
            new
            {
                clients = refusals.Select(r => r.Client).ToArray(),
                routes = refusals.Select(r => r.Route).ToArray(),
                units = refusals.Select(r => r.Unit).ToArray(),
                reasons = refusals.Select(r => r.Reason).ToArray(),
                statuses = refusals.Select(r => r.Status).ToArray(),
                counts = refusals.Select(r => r.Count).ToArray(),
                firsts = refusals.Select(r => r.FirstAt).ToArray(),
                lasts = refusals.Select(r => r.LastAt).ToArray(),
            },
            cancellationToken: cancellationToken));
        return TypedResults.NoContent();
    }

    private static bool Valid(AccessRefusalRecord r) =>
        Short(r.Client) && Short(r.Route) && Short(r.Reason) && (r.Unit is null || Short(r.Unit)) && r.Count > 0 && r.FirstAt <= r.LastAt
        && !$"{r.Client}{r.Route}{r.Unit}{r.Reason}".Any(char.IsControl);

    private static bool Short(string? value) => !string.IsNullOrEmpty(value) && value.Length <= MaxField;
}
