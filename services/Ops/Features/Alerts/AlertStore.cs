using Dapper;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>One alert and its period: open while <see cref="ClearedAt"/> is null. A class, not a record: Dapper fills properties.</summary>
public sealed class Alert
{
    public long Id { get; init; }

    /// <summary>One of <see cref="AlertRules.All"/>.</summary>
    public string Rule { get; init; } = "";

    /// <summary>What it is about: a queue, a unit id, a service, a client id ("hub" for a hub-wide rule).</summary>
    public string Key { get; init; } = "";

    /// <summary>Metadata only: counts, times, names of queues and units, message ids.</summary>
    public string Detail { get; init; } = "";

    public DateTimeOffset RaisedAt { get; init; }

    public DateTimeOffset? ClearedAt { get; init; }
}

/// <summary>
/// The stored alerts, for the evaluator and for whoever shows them (the ops console calls <see cref="OpenAsync"/> and
/// <see cref="RecentAsync"/>; <c>GET /ops/alerts</c> returns both). Raising and clearing are idempotent across
/// processes: the unique index on open (rule, key) lets one insert win, and a clear closes an alert once.
/// </summary>
public sealed class AlertStore(NpgsqlDataSource db)
{
    private const string Columns = "id AS Id, rule AS Rule, key AS Key, detail AS Detail, raised_at AS RaisedAt, cleared_at AS ClearedAt";

    /// <summary>Every open alert, the oldest first.</summary>
    public async Task<IReadOnlyList<Alert>> OpenAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<Alert>(new CommandDefinition(
            $"SELECT {Columns} FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at, id", cancellationToken: cancellationToken))];
    }

    /// <summary>Alerts cleared at or after <paramref name="since"/>, the latest cleared first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<Alert>> RecentAsync(DateTimeOffset since, int limit = 200, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<Alert>(new CommandDefinition(
            $"SELECT {Columns} FROM alerts WHERE cleared_at >= @since ORDER BY cleared_at DESC, id DESC LIMIT @limit",
            new { since, limit }, cancellationToken: cancellationToken))];
    }

    /// <summary>The alert raised, or null when one is open for that rule and key already (raised by this or another process).</summary>
    public async Task<Alert?> RaiseAsync(Condition condition, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Alert>(new CommandDefinition(
            $"""
            INSERT INTO alerts (rule, key, detail, raised_at) VALUES (@Rule, @Key, @Detail, @at)
            ON CONFLICT (rule, key) WHERE cleared_at IS NULL DO NOTHING
            RETURNING {Columns}
            """,
            new { condition.Rule, condition.Key, condition.Detail, at }, cancellationToken: cancellationToken));
    }

    /// <summary>The alert cleared, or null when it was cleared already.</summary>
    public async Task<Alert?> ClearAsync(long id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Alert>(new CommandDefinition(
            $"UPDATE alerts SET cleared_at = GREATEST(@at, raised_at) WHERE id = @id AND cleared_at IS NULL RETURNING {Columns}",
            new { id, at }, cancellationToken: cancellationToken));
    }
}
