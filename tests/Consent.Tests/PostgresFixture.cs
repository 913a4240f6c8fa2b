using FamiljecentralHub.LocalHub;
using Npgsql;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>A real PostgreSQL for the ledger and store tests; every test gets a fresh database with the consent schema.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private ScratchPostgres postgres = null!;

    public async ValueTask InitializeAsync() => postgres = await ScratchPostgres.StartAsync("consent-tests", TestContext.Current.CancellationToken);

    public Task<NpgsqlDataSource> NewDatabaseAsync() => postgres.NewDatabaseAsync(Schema.Sql, TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => postgres.DisposeAsync();
}
