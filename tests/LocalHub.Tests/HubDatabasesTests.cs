using System.Security.Cryptography;
using Dapper;
using FamiljecentralHub.Topology;
using Npgsql;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// The databases' provisioning (<see cref="DatabaseProvisioning"/>) on a real PostgreSQL: again on a node that kept its
/// data (deploy/run.sh's hub), on a database whose tables the superuser made before these roles existed, and its clean-up
/// on a shared node. What each login may do once the services' migrations ran is EndToEnd.Tests' DatabaseBoundaryTests.
/// </summary>
[Collection(PrivateNodesCollection.Name)]
public sealed class HubDatabasesTests(PrivateNodesFixture nodes)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly HubService Consent = HubService.All.Single(service => service.Name == Catalogue.Consent.Name);

    [Fact]
    public async Task CreateAll_AgainOnKeptData_NewPasswordsLogInAndTheOldOnesNoLonger()
    {
        var instance = NewInstanceId();
        var first = new HubDatabases(nodes.Postgres, instance, sharedNodes: true);
        var second = new HubDatabases(nodes.Postgres, instance, sharedNodes: true);
        try
        {
            await first.CreateAllAsync(Ct);
            await second.CreateAllAsync(Ct);

            (await CurrentUserAsync(second.ConnectionString(Consent))).ShouldBe(second.RuntimeLogin(Consent).Role);
            (await CurrentUserAsync(second.MigrationConnectionString(Consent))).ShouldBe(second.MigrationLogin(Consent).Role);
            (await Should.ThrowAsync<PostgresException>(() => CurrentUserAsync(first.ConnectionString(Consent)))).SqlState
                .ShouldBe(PostgresErrorCodes.InvalidPassword);
        }
        finally
        {
            await second.DropAllAsync(step => step());
        }
    }

    [Fact]
    public async Task CreateAll_DatabaseTheSuperuserMigratedBefore_TheMigrationRoleAdoptsItsObjects()
    {
        var databases = new HubDatabases(nodes.Postgres, NewInstanceId(), sharedNodes: true);
        try
        {
            await nodes.Postgres.CreateDatabaseAsync(databases.Name(Consent), Ct);
            await using (var superuser = await OpenAsync(databases.AdminConnectionString(Consent)))
            {
                // As the services made their tables when they logged in as the superuser.
                await superuser.ExecuteAsync(
                    """
                    CREATE TABLE made_before (seq bigserial PRIMARY KEY, x int);
                    CREATE SEQUENCE loose_before;
                    CREATE FUNCTION made_before_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
                    """);
            }

            await databases.CreateAllAsync(Ct);

            await using var connection = await OpenAsync(databases.AdminConnectionString(Consent));
            var owners = await connection.QueryAsync<string>(
                """
                SELECT relname || ' ' || pg_get_userbyid(relowner) FROM pg_class
                WHERE relnamespace = 'public'::regnamespace AND relname IN ('made_before', 'made_before_seq_seq', 'made_before_pkey', 'loose_before')
                UNION ALL
                SELECT proname || ' ' || pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'made_before_trigger'
                ORDER BY 1
                """);
            var migrator = databases.MigrationLogin(Consent).Role;
            owners.ShouldBe(new[] { $"loose_before {migrator}", $"made_before {migrator}", $"made_before_pkey {migrator}", $"made_before_seq_seq {migrator}", $"made_before_trigger {migrator}" });
        }
        finally
        {
            await databases.DropAllAsync(step => step());
        }
    }

    [Fact]
    public async Task DropAll_SharedNode_LeavesNeitherDatabasesNorLoginsButTheGroups()
    {
        var instance = NewInstanceId();
        var databases = new HubDatabases(nodes.Postgres, instance, sharedNodes: true);
        await databases.CreateAllAsync(Ct);

        await databases.DropAllAsync(step => step());

        await using var connection = await OpenAsync(nodes.Postgres.ConnectionString());
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_database WHERE datname LIKE @prefix", new { prefix = $"h{instance}%" })).ShouldBe(0);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname LIKE @prefix", new { prefix = $"h{instance}%" })).ShouldBe(0);
        (await connection.QueryAsync<string>("SELECT rolname FROM pg_roles WHERE rolname = ANY(@groups) ORDER BY 1", new { groups = DatabaseRoles.Groups.ToArray() }))
            .ShouldBe(DatabaseRoles.Groups.Order(StringComparer.Ordinal));
    }

    private static string NewInstanceId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    private static async Task<string> CurrentUserAsync(string connectionString)
    {
        await using var connection = await OpenAsync(connectionString);
        return await connection.ExecuteScalarAsync<string>("SELECT current_user") ?? "";
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }
}
