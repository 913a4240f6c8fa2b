using System.Globalization;
using System.Reflection;
using System.Runtime.ExceptionServices;
using Dapper;
using DbUp;
using DbUp.Engine.Output;
using DbUp.Postgresql;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FamiljecentralHub.ServiceDefaults.Data;

/// <summary>
/// A service's schema as numbered SQL scripts (Migrations/0001_….sql, embedded in the service's assembly), each applied
/// once by DbUp and recorded in <see cref="JournalTable"/>. A change to the schema is a new script; a script once
/// released is never edited (DbUp would not run it again). Once, not at every start: an ALTER takes an exclusive lock on
/// a hot table, and a service restarted under load (a crash, a second instance) would stall every other instance's work
/// on it behind that lock.
/// </summary>
public static class SchemaMigrations
{
    /// <summary>DbUp's journal: one row per script applied, by its <see cref="ScriptPrefix"/>ed name.</summary>
    public const string JournalTable = "schema_migrations";

    /// <summary>The scripts' resource names begin with this (the services' csproj embed Migrations/*.sql under it).</summary>
    public const string ScriptPrefix = "Migrations/";

    // The key the schema text's initializer locked before these scripts: an instance of that version and one of this,
    // starting side by side during an upgrade, still never change the schema at once.
    private const long LockKey = 7349120001;

    /// <summary>The names of the scripts embedded in <paramref name="assembly"/>, in the order they apply.</summary>
    public static IReadOnlyList<string> ScriptsIn(Assembly assembly) =>
        [.. assembly.GetManifestResourceNames().Where(IsScript).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Applies the scripts of <paramref name="assembly"/> that the database's journal does not have yet, each in a
    /// transaction of its own with its journal row, and returns their names. Held under a session-level advisory lock on
    /// a connection of its own (DbUp opens its own), so that instances starting together apply each script once: the
    /// second waits, then finds nothing left to do. Through <paramref name="dataSource"/>, so DbUp's errors carry no
    /// error detail either.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(
        NpgsqlDataSource dataSource, Assembly assembly, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
        await lockConnection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@key)", new { key = LockKey }, cancellationToken: cancellationToken));
        try
        {
            var result = DeployChanges.To
                .PostgresqlDatabase(new PostgresqlConnectionManager(dataSource))
                .WithScriptsEmbeddedInAssembly(assembly, IsScript)
                .JournalToPostgresqlTable(null, JournalTable)
                .WithTransactionPerScript()
                // The scripts are plain SQL: PL/pgSQL's $$ quoting is no DbUp variable.
                .WithVariablesDisabled()
                .LogTo(new UpgradeLog(loggerFactory.CreateLogger(typeof(SchemaMigrations))))
                .Build()
                .PerformUpgrade();
            if (!result.Successful)
            {
                ExceptionDispatchInfo.Throw(result.Error);
            }

            return [.. result.Scripts.Select(script => script.Name)];
        }
        finally
        {
            // Pooled connections are not reset when returned (NoResetOnClose): release the lock explicitly. A connection
            // that fails here is broken, and its session's end releases the lock.
            try
            {
                await lockConnection.ExecuteAsync("SELECT pg_advisory_unlock(@key)", new { key = LockKey });
            }
            catch (NpgsqlException)
            {
            }
        }
    }

    /// <summary>
    /// The scripts of <paramref name="assembly"/> that the database's journal does not have, in order: empty when the schema
    /// is this build's (or newer). A database never migrated has no journal, so every script is missing.
    /// </summary>
    public static async Task<IReadOnlyList<string>> MissingAsync(NpgsqlDataSource dataSource, Assembly assembly, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        HashSet<string> applied;
        try
        {
            applied = [.. await connection.QueryAsync<string>(new CommandDefinition(
                $"SELECT scriptname FROM {JournalTable}", cancellationToken: cancellationToken))];
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            applied = [];
        }

        return [.. ScriptsIn(assembly).Where(script => !applied.Contains(script))];
    }

    private static bool IsScript(string resourceName) =>
        resourceName.StartsWith(ScriptPrefix, StringComparison.Ordinal) && resourceName.EndsWith(".sql", StringComparison.Ordinal);

    /// <summary>
    /// DbUp's account one level down: at every start it says at Information that it read the journal and found nothing
    /// to do. The migrator itself says what it applied; warnings and errors stay as DbUp gives them.
    /// </summary>
    private sealed class UpgradeLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => Write(LogLevel.Trace, null, format, args);

        public void LogDebug(string format, params object[] args) => Write(LogLevel.Trace, null, format, args);

        public void LogInformation(string format, params object[] args) => Write(LogLevel.Debug, null, format, args);

        public void LogWarning(string format, params object[] args) => Write(LogLevel.Warning, null, format, args);

        public void LogError(string format, params object[] args) => Write(LogLevel.Error, null, format, args);

        public void LogError(Exception exception, string format, params object[] args) => Write(LogLevel.Error, exception, format, args);

        private void Write(LogLevel level, Exception? exception, string format, object[] args)
        {
            if (logger.IsEnabled(level))
            {
                logger.Log(level, exception, "{Message}", args.Length == 0 ? format : string.Format(CultureInfo.InvariantCulture, format, args));
            }
        }
    }
}

/// <summary>
/// Runs a step against the database once it answers: a database that is down (or still starting) when a service or its
/// migrate command starts delays it, retried each second for two minutes; it does not crash it.
/// </summary>
internal static class WhenReachable
{
    private const int MaxAttempts = 120;

    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> step, ILogger logger, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step(cancellationToken);
            }
            catch (NpgsqlException ex) when (ex.IsTransient && attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                // The message only: the server's error text names no data here, and a stack trace each second says nothing more.
                logger.LogWarning("Database not reachable at start (attempt {Attempt}): {Error}", attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }
}

/// <summary>The <c>migrate</c> command's work (<see cref="MigrateCommand"/>): the scripts applied once the database answers.</summary>
internal sealed class SchemaMigrator(NpgsqlDataSource dataSource, Assembly assembly, ILoggerFactory loggerFactory)
{
    private readonly ILogger logger = loggerFactory.CreateLogger<SchemaMigrator>();

    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken)
    {
        var applied = await WhenReachable.RunAsync(
            token => SchemaMigrations.ApplyAsync(dataSource, assembly, loggerFactory, token), logger, cancellationToken);
        if (applied.Count > 0)
        {
            logger.LogInformation("Schema migrated: {Scripts}", string.Join(", ", applied));
        }

        return applied;
    }
}

/// <summary>
/// A service's first step at start: its login may not change the schema (docs/security.md, "Database roles"), so it only
/// checks that the migrate command has applied every script this build carries, and refuses to start otherwise, naming
/// them: a service on an older schema would fail message by message instead. Hosted services start in order, and this
/// one is registered before the messaging and the service's own workers, so none of them starts on a stale schema.
/// </summary>
internal sealed class SchemaCheck(NpgsqlDataSource dataSource, Assembly assembly, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly ILogger logger = loggerFactory.CreateLogger<SchemaCheck>();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> missing;
        try
        {
            missing = await WhenReachable.RunAsync(token => SchemaMigrations.MissingAsync(dataSource, assembly, token), logger, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            // The run-time role reads the journal from the script that created it on: before that, the schema is older.
            throw new SchemaNotCurrentException(
                $"The database's migration journal is not readable by this login: run the service's 'migrate' command with the migration role first ({e.MessageText}).");
        }

        if (missing.Count > 0)
        {
            throw new SchemaNotCurrentException(
                $"The database lacks {missing.Count} of this build's migrations ({string.Join(", ", missing)}): "
                + "run the service's 'migrate' command with the migration role first.");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The database's schema is older than the service's build: the service does not start.</summary>
public sealed class SchemaNotCurrentException(string message) : Exception(message);
