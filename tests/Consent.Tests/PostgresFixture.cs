using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>A real PostgreSQL for the ledger and store tests; every test gets a fresh database with the consent service's migrations applied.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private ScratchPostgres postgres = null!;

    public async ValueTask InitializeAsync() => postgres = await ScratchPostgres.StartAsync("consent-tests", TestContext.Current.CancellationToken);

    public Task<NpgsqlDataSource> NewDatabaseAsync() => postgres.NewDatabaseAsync(
        (db, token) => SchemaMigrations.ApplyAsync(db, typeof(ConsentServiceExtensions).Assembly, NullLoggerFactory.Instance, token), TestContext.Current.CancellationToken);

    /// <summary>A fresh migrated database and its connection string (password included), for a command that opens it itself.</summary>
    public async Task<(NpgsqlDataSource Db, string ConnectionString)> NewDatabaseWithConnectionStringAsync()
    {
        var connectionString = await postgres.NewEmptyDatabaseAsync(TestContext.Current.CancellationToken);
        var db = NpgsqlDataSource.Create(connectionString);
        await SchemaMigrations.ApplyAsync(db, typeof(ConsentServiceExtensions).Assembly, NullLoggerFactory.Instance, TestContext.Current.CancellationToken);
        return (db, connectionString);
    }

    public ValueTask DisposeAsync() => postgres.DisposeAsync();
}
