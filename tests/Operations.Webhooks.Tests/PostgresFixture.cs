using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Data;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>A real PostgreSQL; every test gets a fresh database with the operation services' schema.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private ScratchPostgres postgres = null!;

    public async ValueTask InitializeAsync()
    {
        // The services register these in AddHubDatabase; these tests build the dispatcher without it.
        DatabaseExtensions.RegisterTypeHandlers();
        postgres = await ScratchPostgres.StartAsync("webhook-tests", TestContext.Current.CancellationToken);
    }

    public Task<NpgsqlDataSource> NewDatabaseAsync() => postgres.NewDatabaseAsync(Schema.Sql, TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => postgres.DisposeAsync();
}
