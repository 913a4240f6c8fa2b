using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FamiljecentralHub.Migrations.Tests;

/// <summary>Each service's numbered scripts: on a fresh database, and on one the schema text before them made.</summary>
public sealed class ServiceMigrationsTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Services => ["Consent", "Operations", "Ops"];

    internal static Assembly MigrationsOf(string service) => Assembly.Load($"FamiljecentralHub.{service}");

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Apply_FreshDatabase_RunsEveryScriptOnceInOrder(string service)
    {
        await using var db = await postgres.NewDatabaseAsync();
        var scripts = SchemaMigrations.ScriptsIn(MigrationsOf(service));
        scripts.ShouldNotBeEmpty();
        scripts.ShouldAllBe(name => name.StartsWith("Migrations/0", StringComparison.Ordinal));

        var applied = await SchemaMigrations.ApplyAsync(db, MigrationsOf(service), NullLoggerFactory.Instance, Ct);
        var again = await SchemaMigrations.ApplyAsync(db, MigrationsOf(service), NullLoggerFactory.Instance, Ct);

        applied.ShouldBe(scripts);
        again.ShouldBeEmpty();
        (await JournalAsync(db)).ShouldBe(scripts);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Apply_DatabaseMadeByTheSchemaTextBefore_UpgradesToTheFreshSchemaKeepingItsRows(string service)
    {
        await using var fresh = await postgres.NewDatabaseAsync();
        await SchemaMigrations.ApplyAsync(fresh, MigrationsOf(service), NullLoggerFactory.Instance, Ct);
        await using var old = await postgres.NewDatabaseAsync();
        await ApplyAsTheSchemaTextDidAsync(old, Fixture(service));
        var countSample = await InsertSampleRowAsync(old, service);

        var applied = await SchemaMigrations.ApplyAsync(old, MigrationsOf(service), NullLoggerFactory.Instance, Ct);

        applied.ShouldBe(SchemaMigrations.ScriptsIn(MigrationsOf(service)));
        (await CatalogueAsync(old)).ShouldBe(await CatalogueAsync(fresh));
        await using var connection = await old.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<long>(countSample)).ShouldBe(1);
        (await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('schema_applied') IS NULL")).ShouldBeTrue();
    }

    [Fact]
    public async Task Apply_DatabaseWhoseRanksTheSchemaTextRenumbered_RenumbersNothingTwice()
    {
        await using var old = await postgres.NewDatabaseAsync();
        await ApplyAsTheSchemaTextDidAsync(old, Fixture("Operations"));
        await using (var connection = await old.OpenConnectionAsync(Ct))
        {
            // Written after DeliveryFailed took its place: Delivered is rank 3 already.
            await connection.ExecuteAsync(
                """
                INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank, updated_at)
                VALUES (gen_random_uuid(), 'u1', 'u2', 'Referral', 'p-1', 'Delivered', 3, now())
                """);
        }

        await SchemaMigrations.ApplyAsync(old, MigrationsOf("Operations"), NullLoggerFactory.Instance, Ct);

        await using var check = await old.OpenConnectionAsync(Ct);
        (await check.ExecuteScalarAsync<int>("SELECT status_rank FROM sent_messages")).ShouldBe(3);
    }

    /// <summary>What the schema initializer before the migrations did: the whole text, and its digest in schema_applied.</summary>
    private static async Task ApplyAsTheSchemaTextDidAsync(NpgsqlDataSource db, string schemaSql)
    {
        await using var connection = await db.OpenConnectionAsync(Ct);
        await using var tx = await connection.BeginTransactionAsync(Ct);
        await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(7349120001)", transaction: tx);
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_applied (digest text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", transaction: tx);
        await connection.ExecuteAsync(schemaSql, transaction: tx);
        await connection.ExecuteAsync(
            "INSERT INTO schema_applied (digest) VALUES (@digest)",
            new { digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schemaSql))) }, tx);
        await tx.CommitAsync(Ct);
    }

    private static string Fixture(string service)
    {
        using var stream = typeof(ServiceMigrationsTests).Assembly.GetManifestResourceStream($"Fixtures/{service.ToLowerInvariant()}.sql")
            ?? throw new InvalidOperationException($"No schema text fixture for {service}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task<string> InsertSampleRowAsync(NpgsqlDataSource db, string service)
    {
        await using var connection = await db.OpenConnectionAsync(Ct);
        var (insert, count) = service switch
        {
            "Consent" => (
                "INSERT INTO consent_versions VALUES ('00000000-0000-0000-0000-000000000001', 1, 'p-1', 'Active', '{}', now())",
                "SELECT count(*) FROM consent_versions"),
            "Operations" => (
                """
                INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis, submitted_at, delivered_at)
                VALUES (gen_random_uuid(), 'u2', 'u1', 'Referral', '{}', 's', '{}', 'consent', now(), now())
                """,
                "SELECT count(*) FROM inbox WHERE push_attempts = 0"),
            "Ops" => (
                """
                INSERT INTO message_events (message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation, purpose, subject_pseudonym, reasons, occurred_at)
                VALUES (gen_random_uuid(), 'Submitted', 'u1', 'u2', 'o1', 'o2', 'Referral', 'p-1', '{}', now())
                """,
                "SELECT count(*) FROM message_events"),
            _ => throw new ArgumentOutOfRangeException(nameof(service)),
        };
        await connection.ExecuteAsync(insert);
        return count;
    }

    internal static async Task<IReadOnlyList<string>> JournalAsync(NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync(Ct);
        return [.. await connection.QueryAsync<string>($"SELECT scriptname FROM {SchemaMigrations.JournalTable} ORDER BY schemaversionsid")];
    }

    /// <summary>Tables, columns, indexes, constraints, triggers and functions: what a schema is, in a comparable text.</summary>
    private static async Task<string> CatalogueAsync(NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync(Ct);
        var columns = await connection.QueryAsync<string>(
            """
            SELECT concat_ws(' ', table_name, column_name, data_type, is_nullable, column_default) FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY table_name, column_name
            """);
        var indexes = await connection.QueryAsync<string>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
        var constraints = await connection.QueryAsync<string>(
            "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1");
        var triggers = await connection.QueryAsync<string>("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1");
        var functions = await connection.QueryAsync<string>(
            "SELECT proname || ' ' || prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1");
        return string.Join('\n', columns.Concat(indexes).Concat(constraints).Concat(triggers).Concat(functions));
    }
}
