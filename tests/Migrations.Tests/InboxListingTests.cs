using Dapper;
using FamiljecentralHub.Operations.Inbox;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FamiljecentralHub.Migrations.Tests;

/// <summary>
/// A receiving system polls its inbox for what it has not acknowledged yet, all day. That poll must cost what is
/// waiting, not the unit's whole history: the acknowledged rows stay (retention deletes bodies, not metadata).
/// </summary>
public sealed class InboxListingTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UnacknowledgedPage_AfterThousandsAcknowledged_ReadsOnlyWhatIsWaiting()
    {
        await using var db = await postgres.NewDatabaseAsync();
        await SchemaMigrations.ApplyAsync(db, ServiceMigrationsTests.MigrationsOf("Operations"), NullLoggerFactory.Instance, Ct);
        await using var connection = await db.OpenConnectionAsync(Ct);
        await connection.ExecuteAsync(
            """
            INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis,
                               submitted_at, delivered_at, fetched_at, acknowledged_at)
            SELECT gen_random_uuid(), 'receiver', 'sender', 'Referral', '{FamilySituation}', '20240101-2003', '{}', 'Consent',
                   now(), now(), now(), CASE WHEN n <= 5000 THEN now() END
            FROM generate_series(1, 5003) AS n;
            ANALYZE inbox;
            """);

        // The service prepares its statements: the plan that matters is the generic one (GenericPlan).
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        var (nodes, plan) = await GenericPlan.ExplainAsync(
            connection, InboxApi.PageSql(includeAcknowledged: false), Parameters, analyze: true, transaction);
        await transaction.RollbackAsync(Ct);

        var returned = nodes[0].GetProperty("Actual Rows").GetDouble();
        var looked = nodes.Where(n => n.TryGetProperty("Rows Removed by Filter", out _)).Sum(n => n.GetProperty("Rows Removed by Filter").GetDouble())
            + nodes.Where(n => n.GetProperty("Node Type").GetString() is "Index Scan" or "Seq Scan" or "Bitmap Heap Scan").Sum(n => n.GetProperty("Actual Rows").GetDouble());
        returned.ShouldBe(3);
        looked.ShouldBeLessThan(100, $"the poll walked past the acknowledged rows: {plan}");
    }

    [Fact]
    public async Task Listing_RowsFetchedBefore_AreReturnedAsTheyAre_AndOnlyNewOnesAreMarked()
    {
        await using var db = await postgres.NewDatabaseAsync();
        await SchemaMigrations.ApplyAsync(db, ServiceMigrationsTests.MigrationsOf("Operations"), NullLoggerFactory.Instance, Ct);
        await using var connection = await db.OpenConnectionAsync(Ct);
        var earlier = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
        await connection.ExecuteAsync(
            """
            INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis,
                               submitted_at, delivered_at, fetched_at)
            SELECT gen_random_uuid(), 'receiver', 'sender', 'Referral', '{FamilySituation}', '20240101-2003', '{}', 'Consent',
                   now(), now(), CASE WHEN n <= 3 THEN @earlier END
            FROM generate_series(1, 4) AS n;
            """, new { earlier });
        var before = (await connection.QueryAsync<(long Seq, string Version)>("SELECT seq, xmin::text FROM inbox ORDER BY seq")).ToList();

        // A receiver that lists without acknowledging, as one paging through its inbox again would.
        var now = new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);
        var listed = (await connection.QueryAsync(
            InboxApi.PageSql(includeAcknowledged: false), new { unitId = "receiver", cursor = 0L, take = 100, now })).ToList();
        listed.Count.ShouldBe(4);

        var after = (await connection.QueryAsync<(long Seq, string Version, DateTimeOffset? FetchedAt)>(
            "SELECT seq, xmin::text, fetched_at FROM inbox ORDER BY seq")).ToList();
        for (var i = 0; i < 3; i++)
        {
            after[i].Version.ShouldBe(before[i].Version, "a row fetched before was written again by a listing that only read it");
            after[i].FetchedAt.ShouldBe(earlier);
        }

        after[3].FetchedAt.ShouldBe(now, "the row listed for the first time is marked fetched");
    }

    private static readonly Dictionary<string, (string Type, string Value)> Parameters = new(StringComparer.Ordinal)
    {
        ["unitId"] = ("text", "'receiver'"),
        ["cursor"] = ("bigint", "0"),
        ["take"] = ("int", "100"),
        ["now"] = ("timestamptz", "now()"),
    };
}
