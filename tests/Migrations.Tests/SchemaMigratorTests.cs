using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FamiljecentralHub.Migrations.Tests;

/// <summary>
/// The migrate command's work (several at once, a database that is not there yet) and the service's check at start,
/// which applies nothing and refuses a schema older than its build.
/// </summary>
public sealed class SchemaMigratorTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_SeveralInstancesTogether_ApplyEachScriptOnce()
    {
        var migrations = ServiceMigrationsTests.MigrationsOf("Operations");
        await using var db = await postgres.NewDatabaseAsync();
        using var go = new Barrier(4);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(
            async () =>
            {
                go.SignalAndWait(Ct);
                await new SchemaMigrator(db, migrations, NullLoggerFactory.Instance).MigrateAsync(Ct);
            },
            Ct)));

        (await ServiceMigrationsTests.JournalAsync(db)).ShouldBe(SchemaMigrations.ScriptsIn(migrations));
    }

    [Fact]
    public async Task Start_NothingLeftToApply_SaysNothingAtInformation()
    {
        var migrations = ServiceMigrationsTests.MigrationsOf("Ops");
        await using var db = await postgres.NewDatabaseAsync();
        var first = new Lines();
        var second = new Lines();

        await new SchemaMigrator(db, migrations, LoggerFactory.Create(b => b.AddProvider(first))).MigrateAsync(Ct);
        await new SchemaMigrator(db, migrations, LoggerFactory.Create(b => b.AddProvider(second))).MigrateAsync(Ct);

        first.Written.ShouldHaveSingleItem().ShouldContain("Schema migrated: Migrations/0001_message_events.sql");
        second.Written.ShouldBeEmpty();
    }

    [Fact]
    public async Task Start_DatabaseDownAtFirst_WaitsForItThenMigrates()
    {
        // A server that is down and then comes up on the same port: a private cluster (docs/testing.md).
        Assert.SkipWhen(PrivateNodes.Unavailable is not null, PrivateNodes.Unavailable ?? "");
        var migrations = ServiceMigrationsTests.MigrationsOf("Ops");
        // A cluster of its own, not started yet: the shared one cannot be taken away from the other tests.
        var directory = Path.Combine(Path.GetTempPath(), $"migration-down-{Guid.NewGuid().ToString("N")[..8]}");
        var node = PostgresNode.Private(directory, FreePorts.Next());
        try
        {
            // The group roles the scripts grant to are provisioned before any migration, as a deployment does.
            await node.StartAsync(Ct);
            await DatabaseProvisioning.EnsureGroupsAsync(node, Ct);
            await node.StopAsync(Ct);
            await using var db = NpgsqlDataSource.Create(node.ConnectionString());
            var start = new SchemaMigrator(db, migrations, NullLoggerFactory.Instance).MigrateAsync(Ct);

            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            start.IsCompleted.ShouldBeFalse("the migrator gave up or went on without a database");
            await node.StartAsync(Ct);
            await start.WaitAsync(TimeSpan.FromSeconds(60), Ct);

            (await ServiceMigrationsTests.JournalAsync(db)).ShouldBe(SchemaMigrations.ScriptsIn(migrations));
        }
        finally
        {
            await node.KillAsync(CancellationToken.None);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Check_NeverMigrated_RefusesToStartAndAppliesNothing()
    {
        var migrations = ServiceMigrationsTests.MigrationsOf("Ops");
        await using var db = await postgres.NewDatabaseAsync();

        var refusal = await Should.ThrowAsync<SchemaNotCurrentException>(() => new SchemaCheck(db, migrations, NullLoggerFactory.Instance).StartAsync(Ct));

        refusal.Message.ShouldContain("Migrations/0001_message_events.sql");
        refusal.Message.ShouldContain("'migrate'");
        await using var connection = await db.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<bool>($"SELECT to_regclass('{SchemaMigrations.JournalTable}') IS NULL")).ShouldBeTrue("the check created the journal");
    }

    [Fact]
    public async Task Check_LastScriptNotApplied_RefusesNamingIt()
    {
        var migrations = ServiceMigrationsTests.MigrationsOf("Consent");
        await using var db = await postgres.NewDatabaseAsync();
        await SchemaMigrations.ApplyAsync(db, migrations, NullLoggerFactory.Instance, Ct);
        var last = SchemaMigrations.ScriptsIn(migrations)[^1];
        await using (var connection = await db.OpenConnectionAsync(Ct))
        {
            await connection.ExecuteAsync($"DELETE FROM {SchemaMigrations.JournalTable} WHERE scriptname = @last", new { last });
        }

        var refusal = await Should.ThrowAsync<SchemaNotCurrentException>(() => new SchemaCheck(db, migrations, NullLoggerFactory.Instance).StartAsync(Ct));

        refusal.Message.ShouldContain($"1 of this build's migrations ({last})");
    }

    [Fact]
    public async Task Check_EveryScriptApplied_Starts()
    {
        var migrations = ServiceMigrationsTests.MigrationsOf("Operations");
        await using var db = await postgres.NewDatabaseAsync();
        await SchemaMigrations.ApplyAsync(db, migrations, NullLoggerFactory.Instance, Ct);

        await new SchemaCheck(db, migrations, NullLoggerFactory.Instance).StartAsync(Ct);
    }

    [Fact]
    public async Task Check_DatabaseDownAtFirst_WaitsForItThenChecks()
    {
        // A server that is down and then comes up on the same port: a private cluster (docs/testing.md).
        Assert.SkipWhen(PrivateNodes.Unavailable is not null, PrivateNodes.Unavailable ?? "");
        var migrations = ServiceMigrationsTests.MigrationsOf("Ops");
        var directory = Path.Combine(Path.GetTempPath(), $"migration-down-{Guid.NewGuid().ToString("N")[..8]}");
        var node = PostgresNode.Private(directory, FreePorts.Next());
        try
        {
            await using var db = NpgsqlDataSource.Create(node.ConnectionString());
            var start = new SchemaCheck(db, migrations, NullLoggerFactory.Instance).StartAsync(Ct);

            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            start.IsCompleted.ShouldBeFalse("the check gave up or went on without a database");
            await node.StartAsync(Ct);

            // The node's own database was never migrated: the check answers that once it can ask, rather than crashing before.
            await Should.ThrowAsync<SchemaNotCurrentException>(() => start.WaitAsync(TimeSpan.FromSeconds(60), Ct));
        }
        finally
        {
            await node.KillAsync(CancellationToken.None);
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>What a service's log would show at Information and above.</summary>
internal sealed class Lines : ILoggerProvider
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Written { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(Written);

    public void Dispose()
    {
    }

    private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> written) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                written.Enqueue(formatter(state, exception));
            }
        }
    }
}
