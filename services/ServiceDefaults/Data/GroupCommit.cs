using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace FamiljecentralHub.ServiceDefaults.Data;

/// <summary>
/// One statement for <see cref="GroupCommit"/>: its text with named parameters, and the key of the row it writes (a
/// message id), by which a batch orders its statements.
/// </summary>
public sealed record GroupedStatement(Guid Key, string Sql, IReadOnlyList<NpgsqlParameter> Parameters);

/// <summary>
/// Group commit for the views that events feed (a sender's status view, Ops's trail of steps). A consumer hands its
/// statement here and waits; the statements waiting are sent as one batch in one transaction, so up to
/// <see cref="MaxBatch"/> events cost one round trip and one commit (one WAL flush) instead of one each. Under light
/// load a batch is a single statement and waits for nothing.
/// <list type="bullet">
/// <item>No loss: a caller's task completes only after its batch is committed, so its message is acknowledged only
/// then. A batch that fails (the database down, a deadlock) fails every caller in it: nothing of it is committed and
/// every message is redelivered. The statements must be idempotent, as the views' upserts are.</item>
/// <item>A poison message fails alone: a batch the database refuses for its content (a constraint, a value it cannot
/// store) is written again one statement per transaction, so only the refused statement's caller fails (and its
/// message is retried and parked), never the ones batched with it by chance.</item>
/// <item>No deadlock between processes: each batch runs its statements in the order of their keys, so two instances of
/// a service take row locks in one order. Statements of one key keep their order of arrival.</item>
/// </list>
/// </summary>
public sealed class GroupCommit(NpgsqlDataSource db) : BackgroundService
{
    public const int MaxBatch = 128;

    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Runs the statement in the next batch; completes with its rows affected once that batch is committed.</summary>
    public Task<int> ExecuteAsync(GroupedStatement statement, CancellationToken cancellationToken)
    {
        var item = new Pending(statement, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(item))
        {
            throw new InvalidOperationException("The group commit writer has stopped.");
        }

        return item.Result.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(MaxBatch);
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && pending.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                // A stable sort: one key's statements keep their order of arrival.
                var ordered = batch.OrderBy(p => p.Statement.Key).ToList();
                try
                {
                    Settle(ordered, await WriteAsync(ordered, stoppingToken));
                }
                catch (PostgresException ex) when (!ex.IsTransient && ordered.Count > 1)
                {
                    foreach (var p in ordered)
                    {
                        await WriteAloneAsync(p, stoppingToken);
                    }
                }
                catch (Exception ex)
                {
                    foreach (var p in ordered)
                    {
                        p.Result.TrySetException(ex);
                    }
                }
            }
        }
        finally
        {
            // Stopping: whoever still waits fails, and its message is redelivered to the next process.
            pending.Writer.TryComplete();
            var stopped = new OperationCanceledException("The group commit writer has stopped.");
            foreach (var p in batch)
            {
                p.Result.TrySetException(stopped);
            }

            while (pending.Reader.TryRead(out var left))
            {
                left.Result.TrySetException(stopped);
            }
        }
    }

    private async Task WriteAloneAsync(Pending p, CancellationToken cancellationToken)
    {
        try
        {
            Settle([p], await WriteAsync([p], cancellationToken));
        }
        catch (Exception ex)
        {
            p.Result.TrySetException(ex);
        }
    }

    private static void Settle(List<Pending> batch, int[] affected)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Result.TrySetResult(affected[i]);
        }
    }

    private async Task<int[]> WriteAsync(List<Pending> batch, CancellationToken cancellationToken)
    {
        // No BEGIN and COMMIT of our own: a batch is sent with one Sync, so PostgreSQL runs it as one implicit
        // transaction, committed (and flushed) before it answers, or rolled back whole at its first error. One round trip.
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var statements = new NpgsqlBatch(connection);
        foreach (var p in batch)
        {
            // Copies: a parameter belongs to one command, and a refused batch is written again statement by statement.
            var command = new NpgsqlBatchCommand(p.Statement.Sql);
            foreach (var parameter in p.Statement.Parameters)
            {
                command.Parameters.Add(parameter.Clone());
            }

            statements.BatchCommands.Add(command);
        }

        await statements.ExecuteNonQueryAsync(cancellationToken);
        return [.. statements.BatchCommands.Select(static (NpgsqlBatchCommand c) => c.RecordsAffected)];
    }

    private sealed record Pending(GroupedStatement Statement, TaskCompletionSource<int> Result);
}

/// <summary>Named parameters for a <see cref="GroupedStatement"/>, typed by the value's type even when it is null.</summary>
public static class GroupedParameter
{
    public static NpgsqlParameter Of<T>(string name, T value) => new NpgsqlParameter<T>(name, value);

    /// <summary>An instant as PostgreSQL's timestamptz, as Dapper's handler writes it elsewhere in the hub (UTC).</summary>
    public static NpgsqlParameter Of(string name, DateTimeOffset value) => Of(name, (DateTimeOffset?)value);

    /// <inheritdoc cref="Of(string, DateTimeOffset)"/>
    public static NpgsqlParameter Of(string name, DateTimeOffset? value) =>
        new NpgsqlParameter(name, NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = value is { } v ? v.UtcDateTime : DBNull.Value };
}

public static class GroupCommitExtensions
{
    /// <summary>The service's <see cref="GroupCommit"/> writer, for consumers that feed a view (after AddHubDatabase).</summary>
    public static IHostApplicationBuilder AddGroupCommit(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GroupCommit>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GroupCommit>());
        return builder;
    }
}
