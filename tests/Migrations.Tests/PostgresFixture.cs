using FamiljecentralHub.LocalHub;
using Npgsql;

namespace FamiljecentralHub.Migrations.Tests;

/// <summary>A real PostgreSQL; every test gets fresh, empty databases.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private ScratchPostgres postgres = null!;

    public async ValueTask InitializeAsync() => postgres = await ScratchPostgres.StartAsync("migration-tests", TestContext.Current.CancellationToken);

    public Task<NpgsqlDataSource> NewDatabaseAsync() =>
        postgres.NewDatabaseAsync((_, _) => Task.CompletedTask, TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => postgres.DisposeAsync();
}
