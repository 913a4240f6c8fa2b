using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>A real PostgreSQL; every test gets a fresh database with the operation services' migrations applied.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private ScratchPostgres postgres = null!;

    public async ValueTask InitializeAsync()
    {
        // The services register these in AddHubDatabase; these tests build the dispatcher without it.
        DatabaseExtensions.RegisterTypeHandlers();
        postgres = await ScratchPostgres.StartAsync("webhook-tests", TestContext.Current.CancellationToken);
    }

    public Task<NpgsqlDataSource> NewDatabaseAsync() => postgres.NewDatabaseAsync(
        (db, token) => SchemaMigrations.ApplyAsync(db, typeof(OperationServiceExtensions).Assembly, NullLoggerFactory.Instance, token), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => postgres.DisposeAsync();
}
