using Dapper;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Least privilege as PostgreSQL itself holds it, whatever a service's code does: logged in with a service's own
/// connection string, as a compromised service would be, it reaches no other service's database, changes no schema in
/// its own, and the consent service can only append to the decision ledger and read it. Every refusal is PostgreSQL's
/// insufficient_privilege (42501), not the ledger's trigger or a missing object, and each kind of refusal has a
/// permitted write beside it, so "refused" is never the accident of a statement that could not work anyway.
/// </summary>
public sealed class DatabaseBoundaryTests(HubFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Services => new(FamiljecentralHub.LocalHub.Hub.ServiceNames);

    /// <summary>Each service's own table, one it writes at run time.</summary>
    private static string OwnTable(string service) => service switch
    {
        "consent" => "consent_versions",
        "ops" => "message_events",
        _ => "inbox",
    };

    [Theory]
    [InlineData("child-health", "consent")]
    [InlineData("child-health", "social-services")]
    [InlineData("ops", "consent")]
    [InlineData("consent", "maternity-care")]
    public async Task Connect_ServiceToAnotherServicesDatabase_IsRefused(string service, string other)
    {
        var intruder = new NpgsqlConnectionStringBuilder(fixture.Hub.ConnectionString(service))
        {
            Database = fixture.Hub.DatabaseName(other),
            Pooling = false,
        };
        await using var connection = new NpgsqlConnection(intruder.ConnectionString);

        (await Should.ThrowAsync<PostgresException>(() => connection.OpenAsync(Ct))).SqlState.ShouldBe(PostgresErrorCodes.InsufficientPrivilege);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Ddl_ServiceInItsOwnDatabase_IsRefused(string service)
    {
        var table = OwnTable(service);
        string[] statements =
        [
            "CREATE TABLE intruder (x int)",
            "CREATE TEMP TABLE intruder (x int)",
            "CREATE SCHEMA intruder",
            $"ALTER TABLE {table} ADD COLUMN intruder int",
            $"CREATE INDEX intruder ON {table} ((1))",
            $"DROP TABLE {table}",
            $"TRUNCATE {table}",
            $"CREATE TRIGGER intruder BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
            "DROP TABLE schema_migrations",
            "DELETE FROM schema_migrations",
        ];

        foreach (var statement in statements)
        {
            await ShouldBeRefusedAsync(service, statement);
        }
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Login_ServiceRole_IsNoSuperuserAndOwnsNothing(string service)
    {
        await using var connection = await OpenAsync(service);
        var role = await connection.QuerySingleAsync<(bool Super, bool CreateRole, bool CreateDb, bool Replication, bool BypassRls)>(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user");
        var owned = await connection.ExecuteScalarAsync<long>(
            """
            SELECT (SELECT count(*) FROM pg_class WHERE pg_has_role(current_user, relowner, 'USAGE'))
                 + (SELECT count(*) FROM pg_proc WHERE pg_has_role(current_user, proowner, 'USAGE'))
                 + (SELECT count(*) FROM pg_namespace WHERE pg_has_role(current_user, nspowner, 'USAGE'))
            """);

        role.ShouldBe((false, false, false, false, false));
        owned.ShouldBe(0, "the service's login owns (or inherits ownership of) schema objects");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Write_ServiceToItsOwnTable_IsPermitted(string service)
    {
        await using var connection = await OpenAsync(service);
        await using var tx = await connection.BeginTransactionAsync(Ct);
        var insert = service switch
        {
            "consent" => "INSERT INTO consent_versions VALUES (gen_random_uuid(), 1, 'p-boundary', 'Active', '{}', now())",
            "ops" => """
                INSERT INTO message_events (message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation, purpose,
                                            subject_pseudonym, reasons, occurred_at)
                VALUES (gen_random_uuid(), 'Submitted', 'u1', 'u2', 'o1', 'o2', 'Referral', 'p-boundary', '{}', now())
                """,
            _ => """
                INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis, submitted_at, delivered_at)
                VALUES (gen_random_uuid(), 'u2', 'u1', 'Referral', '{}', 's', '{}', 'consent', now(), now())
                """,
        };

        (await connection.ExecuteAsync(insert, transaction: tx)).ShouldBe(1);
        await tx.RollbackAsync(Ct);
    }

    [Theory]
    [InlineData("UPDATE ledger SET outcome = 'Permitted'")]
    [InlineData("DELETE FROM ledger")]
    [InlineData("TRUNCATE ledger")]
    [InlineData("DROP TRIGGER ledger_append_only ON ledger")]
    [InlineData("ALTER TABLE ledger DISABLE TRIGGER ledger_append_only")]
    [InlineData("ALTER TABLE ledger DISABLE TRIGGER ALL")]
    [InlineData("CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")]
    [InlineData("ALTER TABLE ledger DROP CONSTRAINT ledger_message_id_kind_key")]
    [InlineData("DROP TABLE ledger")]
    [InlineData("SET session_replication_role = replica")]
    [InlineData("SET ROLE hub_ledger_owner")]
    public async Task Change_ConsentServiceOnTheLedger_IsRefused(string statement) => await ShouldBeRefusedAsync("consent", statement);

    [Fact]
    public async Task Append_ConsentServiceToTheLedger_IsPermittedAndReadable()
    {
        await using var connection = await OpenAsync("consent");
        await using var tx = await connection.BeginTransactionAsync(Ct);

        var inserted = await connection.ExecuteAsync(
            """
            INSERT INTO ledger (seq, message_id, kind, outcome, sending_unit, receiving_unit, acting_system, subject_pseudonym, purpose,
                                categories, reasons, review, at, prev_hash, hash)
            VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM ledger), gen_random_uuid(), 'Decision', 'Refused', 'u1', 'u2', 'sys', 'p-boundary',
                    'Referral', '{}', '{}', false, now(), '\x00', '\x00')
            """,
            transaction: tx);

        inserted.ShouldBe(1);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE subject_pseudonym = 'p-boundary'", transaction: tx)).ShouldBe(1);
        await tx.RollbackAsync(Ct);
    }

    private async Task<NpgsqlConnection> OpenAsync(string service)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(fixture.Hub.ConnectionString(service)) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    /// <summary>In a transaction rolled back in any case: a statement a superuser would be allowed leaves nothing behind.</summary>
    private async Task ShouldBeRefusedAsync(string service, string statement)
    {
        await using var connection = await OpenAsync(service);
        await using var tx = await connection.BeginTransactionAsync(Ct);
        var refusal = await Should.ThrowAsync<PostgresException>(
            () => connection.ExecuteAsync(statement, transaction: tx), customMessage: $"{service}: {statement}");
        refusal.SqlState.ShouldBe(PostgresErrorCodes.InsufficientPrivilege, $"{service}: {statement}: {refusal.MessageText}");
    }
}
