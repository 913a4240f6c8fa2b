using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Processes;
using Npgsql;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// A real PostgreSQL for the ledger and store tests: the shared test cluster when deploy/test.sh names one, otherwise a
/// private cluster of this fixture's own. Every test gets a fresh database with the consent service's schema.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly List<string> databases = [];
    private PostgresNode node = null!;
    private string? privateDirectory;

    public async ValueTask InitializeAsync()
    {
        if (ExternalNodes.FromEnvironment() is { } external)
        {
            node = PostgresNode.External(external.PostgresPort, external.PostgresPassword);
        }
        else
        {
            // Not under /root: the postgres user must reach it.
            privateDirectory = Path.Combine(Path.GetTempPath(), "consent-tests-" + Guid.NewGuid().ToString("N")[..8]);
            node = PostgresNode.Private(privateDirectory, FreePorts.Next());
        }

        if (privateDirectory is not null)
        {
            await node.StartAsync(TestContext.Current.CancellationToken);
        }
    }

    public async Task<NpgsqlDataSource> NewDatabaseAsync()
    {
        var name = "consent_test_" + Guid.NewGuid().ToString("N")[..12];
        await node.CreateDatabaseAsync(name, TestContext.Current.CancellationToken);
        databases.Add(name);
        var dataSource = NpgsqlDataSource.Create(node.ConnectionString(name));
        await using var connection = await dataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await connection.ExecuteAsync(Schema.Sql);
        return dataSource;
    }

    public async ValueTask DisposeAsync()
    {
        if (privateDirectory is not null)
        {
            await node.KillAsync();
            Directory.Delete(privateDirectory, recursive: true);
            return;
        }

        NpgsqlConnection.ClearAllPools();
        foreach (var name in databases)
        {
            await node.DropDatabaseAsync(name);
        }
    }
}
