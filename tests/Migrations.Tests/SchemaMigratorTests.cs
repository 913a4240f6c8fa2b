using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FamiljecentralHub.Migrations.Tests;

/// <summary>The start-up step: instances starting together, and a database that is not there yet.</summary>
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
                await new SchemaMigrator(db, migrations, NullLoggerFactory.Instance).StartAsync(Ct);
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

        await new SchemaMigrator(db, migrations, LoggerFactory.Create(b => b.AddProvider(first))).StartAsync(Ct);
        await new SchemaMigrator(db, migrations, LoggerFactory.Create(b => b.AddProvider(second))).StartAsync(Ct);

        first.Written.ShouldHaveSingleItem().ShouldContain("Schema migrated: Migrations/0001_message_events.sql");
        second.Written.ShouldBeEmpty();
    }

    [Fact]
    public async Task Start_DatabaseDownAtFirst_WaitsForItThenMigrates()
    {
        var migrations = ServiceMigrationsTests.MigrationsOf("Ops");
        // A cluster of its own, not started yet: the shared one cannot be taken away from the other tests.
        var directory = Path.Combine(Path.GetTempPath(), $"migration-down-{Guid.NewGuid().ToString("N")[..8]}");
        var node = PostgresNode.Private(directory, FreePorts.Next());
        try
        {
            await using var db = NpgsqlDataSource.Create(node.ConnectionString());
            var start = new SchemaMigrator(db, migrations, NullLoggerFactory.Instance).StartAsync(Ct);

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
