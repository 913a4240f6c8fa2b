using Npgsql;

namespace FamiljecentralHub.LocalHub.Tests;

[Collection(PrivateNodesCollection.Name)]
public sealed class PostgresNodeTests(PrivateNodesFixture nodes)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateDatabase_CalledTwice_CreatesOneQueryableDatabase()
    {
        var name = $"test_{Guid.NewGuid():N}";

        await nodes.Postgres.CreateDatabaseAsync(name, Cancellation);
        await nodes.Postgres.CreateDatabaseAsync(name, Cancellation);

        await using var connection = await OpenAsync(nodes.Postgres, name);
        await using var query = new NpgsqlCommand("SELECT current_database(), 6 * 7", connection);
        await using var reader = await query.ExecuteReaderAsync(Cancellation);
        (await reader.ReadAsync(Cancellation)).ShouldBeTrue();
        reader.GetString(0).ShouldBe(name);
        reader.GetInt32(1).ShouldBe(42);
    }

    [Fact]
    public async Task KillThenStart_CommittedRow_SurvivesTheCrash()
    {
        var name = $"test_{Guid.NewGuid():N}";
        await nodes.Postgres.CreateDatabaseAsync(name, Cancellation);
        await using (var connection = await OpenAsync(nodes.Postgres, name))
        {
            await using var write = new NpgsqlCommand("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7);", connection);
            await write.ExecuteNonQueryAsync(Cancellation);
        }

        await nodes.Postgres.KillAsync(Cancellation);
        nodes.Postgres.PostmasterPid.ShouldBeNull();
        await nodes.Postgres.StartAsync(Cancellation);

        await using (var connection = await OpenAsync(nodes.Postgres, name))
        {
            await using var read = new NpgsqlCommand("SELECT id FROM kept", connection);
            (await read.ExecuteScalarAsync(Cancellation)).ShouldBe(7);
        }
        await nodes.Postgres.DropDatabaseAsync(name, Cancellation);
    }

    [Fact]
    public async Task DropDatabase_WithOpenSession_DropsIt()
    {
        var name = $"test_{Guid.NewGuid():N}";
        await nodes.Postgres.CreateDatabaseAsync(name, Cancellation);
        await using var session = await OpenAsync(nodes.Postgres, name);

        await nodes.Postgres.DropDatabaseAsync(name, Cancellation);

        await using var admin = await OpenAsync(nodes.Postgres, "postgres");
        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", admin) { Parameters = { new() { Value = name } } };
        (await exists.ExecuteScalarAsync(Cancellation)).ShouldBe(0L);
    }

    internal static async Task<NpgsqlConnection> OpenAsync(PostgresNode node, string database)
    {
        // No pooling: a pooled connection would outlive the server the tests kill.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(node.ConnectionString(database)) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Cancellation);
        return connection;
    }
}
