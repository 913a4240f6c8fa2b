using Dapper;
using FamiljecentralHub.ServiceDefaults.Data;
using Npgsql;

namespace FamiljecentralHub.Migrations.Tests;

/// <summary>
/// The status view and Ops's trail share commits (<see cref="GroupCommit"/>): a message is acknowledged only after its
/// write is committed, and one statement the database refuses must not take the messages batched with it down.
/// </summary>
public sealed class GroupCommitTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Upsert =
        """
        INSERT INTO steps (id, n) VALUES (@Id, @N)
        ON CONFLICT (id) DO UPDATE SET n = excluded.n
        """;

    [Fact]
    public async Task ABatchWithOneRefusedStatement_CommitsEveryOther_AndFailsOnlyThatOne()
    {
        await using var db = await NewTableAsync();
        var writer = new GroupCommit(db);
        var ids = Enumerable.Range(0, 50).Select(_ => Guid.NewGuid()).ToArray();
        // Queued before the writer runs, so they meet in one batch; the 13th breaks the table's check.
        var tasks = ids.Select((id, i) => writer.ExecuteAsync(Statement(id, i == 13 ? -1 : i), Ct)).ToArray();
        await writer.StartAsync(Ct);
        try
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => tasks[13]);
            Assert.Equal(PostgresErrorCodes.CheckViolation, refused.SqlState);
            foreach (var task in tasks.Where((_, i) => i != 13))
            {
                Assert.Equal(1, await task);
            }

            await using var connection = await db.OpenConnectionAsync(Ct);
            var stored = (await connection.QueryAsync<Guid>("SELECT id FROM steps")).ToHashSet();
            Assert.Equal(ids.Where((_, i) => i != 13).ToHashSet(), stored);
        }
        finally
        {
            await writer.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task ABatchTheDatabaseRefuses_CommitsNothingOfItsFirstTry()
    {
        await using var db = await NewTableAsync();
        await using (var setup = await db.OpenConnectionAsync(Ct))
        {
            await setup.ExecuteAsync("CREATE TABLE writes (id uuid NOT NULL, n int NOT NULL CHECK (n >= 0))");
        }

        var writer = new GroupCommit(db);
        // Not idempotent on purpose: a row written twice shows a first try that committed part of its batch. The refused
        // statement has the greatest key, so every other statement runs before it in the batch.
        var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).Order().ToArray();
        var tasks = ids.Select((id, i) => writer.ExecuteAsync(
            new GroupedStatement(id, "INSERT INTO writes (id, n) VALUES (@Id, @N)", [GroupedParameter.Of("Id", id), GroupedParameter.Of("N", i == ids.Length - 1 ? -1 : i)]),
            Ct)).ToArray();
        await writer.StartAsync(Ct);
        try
        {
            await Assert.ThrowsAsync<PostgresException>(() => tasks[^1]);
            foreach (var task in tasks[..^1])
            {
                Assert.Equal(1, await task);
            }

            await using var connection = await db.OpenConnectionAsync(Ct);
            var written = (await connection.QueryAsync<(Guid Id, long Times)>("SELECT id, count(*) FROM writes GROUP BY id")).ToList();
            Assert.Equal(ids[..^1].ToHashSet(), written.Select(w => w.Id).ToHashSet());
            Assert.All(written, w => Assert.Equal(1, w.Times));
        }
        finally
        {
            await writer.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task StatementsOfOneKey_InOneBatch_RunInTheOrderTheyCame()
    {
        await using var db = await NewTableAsync();
        var writer = new GroupCommit(db);
        var id = Guid.NewGuid();
        var others = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();
        var tasks = new List<Task<int>> { writer.ExecuteAsync(Statement(id, 1), Ct) };
        tasks.AddRange(others.Select(o => writer.ExecuteAsync(Statement(o, 0), Ct)));
        tasks.Add(writer.ExecuteAsync(Statement(id, 2), Ct));
        await writer.StartAsync(Ct);
        try
        {
            await Task.WhenAll(tasks);
            await using var connection = await db.OpenConnectionAsync(Ct);
            Assert.Equal(2, await connection.QuerySingleAsync<int>("SELECT n FROM steps WHERE id = @id", new { id }));
        }
        finally
        {
            await writer.StopAsync(Ct);
        }
    }

    [Fact]
    public async Task ADatabaseThatCannotBeReached_FailsEveryCaller_AndTheWriterGoesOn()
    {
        await using var db = await NewTableAsync();
        var unreachable = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = 1, Timeout = 2 }.ConnectionString).Build();
        await using (unreachable)
        {
            var writer = new GroupCommit(unreachable);
            await writer.StartAsync(Ct);
            try
            {
                var tasks = Enumerable.Range(0, 5).Select(i => writer.ExecuteAsync(Statement(Guid.NewGuid(), i), Ct)).ToArray();
                foreach (var task in tasks)
                {
                    await Assert.ThrowsAnyAsync<NpgsqlException>(() => task);
                }

                // The loop survives a failed batch: the next caller is written (and fails the same way, not hangs).
                await Assert.ThrowsAnyAsync<NpgsqlException>(() => writer.ExecuteAsync(Statement(Guid.NewGuid(), 1), Ct));
            }
            finally
            {
                await writer.StopAsync(Ct);
            }
        }
    }

    private static GroupedStatement Statement(Guid id, int n) =>
        new(id, Upsert, [GroupedParameter.Of("Id", id), GroupedParameter.Of("N", n)]);

    private async Task<NpgsqlDataSource> NewTableAsync()
    {
        var db = await postgres.NewDatabaseAsync();
        await using var connection = await db.OpenConnectionAsync(Ct);
        await connection.ExecuteAsync("CREATE TABLE steps (id uuid PRIMARY KEY, n int NOT NULL CHECK (n >= 0))");
        return db;
    }
}
