using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Processes;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>
/// A real PostgreSQL: the shared test cluster when deploy/test.sh names one, otherwise a private cluster of this
/// fixture's own. Every test gets a fresh database with the operation services' schema.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly List<string> databases = [];
    private PostgresNode node = null!;
    private string? privateDirectory;

    public async ValueTask InitializeAsync()
    {
        // The services register this in AddHubDatabase; these tests build the dispatcher without it.
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
        if (ExternalNodes.FromEnvironment() is { } external)
        {
            node = PostgresNode.External(external.PostgresPort, external.PostgresPassword);
        }
        else
        {
            // Not under /root: the postgres user must reach it.
            privateDirectory = Path.Combine(Path.GetTempPath(), "webhook-tests-" + Guid.NewGuid().ToString("N")[..8]);
            node = PostgresNode.Private(privateDirectory, FreePorts.Next());
        }

        await node.StartAsync(TestContext.Current.CancellationToken);
    }

    public async Task<NpgsqlDataSource> NewDatabaseAsync()
    {
        var name = "webhook_test_" + Guid.NewGuid().ToString("N")[..12];
        await node.CreateDatabaseAsync(name, TestContext.Current.CancellationToken);
        databases.Add(name);
        var dataSource = NpgsqlDataSource.Create(node.ConnectionString(name));
        await using var connection = await dataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await connection.ExecuteAsync(Schema.Sql);
        await connection.ExecuteAsync(Schema.Sql); // idempotent: applied at every start
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

    private sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(System.Data.IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.UtcDateTime;

        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
            DateTimeOffset o => o,
            _ => throw new InvalidCastException(value.GetType().Name),
        };
    }
}
