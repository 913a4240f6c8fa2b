using System.Text.RegularExpressions;
using Dapper;
using FamiljecentralHub.Topology;
using Npgsql;

namespace FamiljecentralHub.LocalHub;

/// <summary>One service's database and its two logins, as provisioning sets them up.</summary>
internal sealed record ServiceDatabase(string Name, FamiljecentralHub.Topology.HubService Service, DatabaseLogin Migration, DatabaseLogin Runtime);

/// <summary>
/// The database side of least privilege, applied as the superuser before any migration or service runs: what a
/// deployment's DBA or provisioning job does once per database (docs/security.md, "Database roles"). The group roles of
/// <see cref="DatabaseRoles"/>, which the services' migration scripts grant to; per database a migration login (owns the
/// schema, may create in it) and a run-time login (a member of the service's group, nothing else); CONNECT to each
/// database for its own two logins alone, no temporary tables, and nothing in its public schema for anyone else.
/// Idempotent: a hub restarted on kept node data provisions the same again, with new passwords.
/// </summary>
public static partial class DatabaseProvisioning
{
    // Role changes are cluster-wide, and hubs and scratch databases on a shared node provision side by side.
    private const long LockKey = 7349120004;

    private const string Unprivileged = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS";

    /// <summary>The group roles the migration scripts name; a scratch database needs them before any script runs.</summary>
    public static async Task EnsureGroupsAsync(PostgresNode postgres, CancellationToken cancellationToken)
    {
        await using var connection = await postgres.OpenAdminConnectionAsync("postgres", cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await EnsureGroupsAsync(connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    internal static async Task ApplyAsync(PostgresNode postgres, IReadOnlyList<ServiceDatabase> databases, CancellationToken cancellationToken)
    {
        await using (var connection = await postgres.OpenAdminConnectionAsync("postgres", cancellationToken))
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await EnsureGroupsAsync(connection, tx, cancellationToken);
            foreach (var database in databases)
            {
                await EnsureRoleAsync(connection, tx, database.Migration.Role, Login(database.Migration), cancellationToken);
                await EnsureRoleAsync(connection, tx, database.Runtime.Role, Login(database.Runtime), cancellationToken);
                foreach (var group in DatabaseRoles.MigrationGroupsOf(database.Service))
                {
                    await connection.ExecuteAsync($"GRANT {Identifier(group)} TO {Identifier(database.Migration.Role)}", transaction: tx);
                }

                await connection.ExecuteAsync(
                    $"GRANT {Identifier(DatabaseRoles.RuntimeGroupOf(database.Service))} TO {Identifier(database.Runtime.Role)}", transaction: tx);
                // CONNECT is what keeps each service in its own database: the operation services share one group.
                await connection.ExecuteAsync(
                    $"""
                    REVOKE ALL ON DATABASE {Identifier(database.Name)} FROM PUBLIC;
                    GRANT CONNECT ON DATABASE {Identifier(database.Name)} TO {Identifier(database.Migration.Role)}, {Identifier(database.Runtime.Role)};
                    """,
                    transaction: tx);
            }

            await tx.CommitAsync(cancellationToken);
        }

        await Task.WhenAll(databases.Select(database => ApplyInDatabaseAsync(postgres, database, cancellationToken)));
    }

    /// <summary>Drops a hub's logins once its databases are gone (nothing of theirs is left to own or be granted).</summary>
    internal static async Task DropLoginsAsync(PostgresNode postgres, IReadOnlyList<string> roles, CancellationToken cancellationToken)
    {
        await using var connection = await postgres.OpenAdminConnectionAsync("postgres", cancellationToken);
        await connection.ExecuteAsync($"DROP ROLE IF EXISTS {string.Join(", ", roles.Select(Identifier))}");
    }

    private static async Task ApplyInDatabaseAsync(PostgresNode postgres, ServiceDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await postgres.OpenAdminConnectionAsync(database.Name, cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var migrator = Identifier(database.Migration.Role);
        await connection.ExecuteAsync(
            $"""
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT USAGE, CREATE ON SCHEMA public TO {migrator};
            GRANT USAGE ON SCHEMA public TO {Identifier(database.Runtime.Role)};
            """,
            transaction: tx);
        if (DatabaseRoles.MigrationGroupsOf(database.Service).Contains(DatabaseRoles.LedgerOwner))
        {
            // A new owner must be allowed to create in the table's schema: the migration that hands it the ledger needs this.
            await connection.ExecuteAsync($"GRANT USAGE, CREATE ON SCHEMA public TO {Identifier(DatabaseRoles.LedgerOwner)}", transaction: tx);
        }

        // A database migrated before these roles existed has the superuser's tables (the services logged in as it): the
        // migration role adopts them, so its migrations can change them. What it owns already, itself or through a group
        // (the ledger's owner), stays. A table takes its indexes and its serial columns' sequences with it.
        var adoptions = await connection.QueryAsync<string>(
            """
            SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, @role) FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND NOT pg_has_role(@role, c.relowner, 'USAGE')
            UNION ALL
            SELECT format('ALTER SEQUENCE %s OWNER TO %I', c.oid::regclass, @role) FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND NOT pg_has_role(@role, c.relowner, 'USAGE')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
            UNION ALL
            SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, @role) FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND NOT pg_has_role(@role, p.proowner, 'USAGE')
            """,
            new { role = database.Migration.Role },
            tx);
        foreach (var adoption in adoptions)
        {
            await connection.ExecuteAsync(adoption, transaction: tx);
        }

        await tx.CommitAsync(cancellationToken);
    }

    private static async Task EnsureGroupsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@LockKey)", new { LockKey }, tx, cancellationToken: cancellationToken));
        foreach (var group in DatabaseRoles.Groups)
        {
            await EnsureRoleAsync(connection, tx, group, $"NOLOGIN {Unprivileged}", cancellationToken);
        }
    }

    private static async Task EnsureRoleAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string role, string attributes, CancellationToken cancellationToken)
    {
        var exists = await connection.ExecuteScalarAsync<bool>(
            new CommandDefinition("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = @role)", new { role }, tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync($"{(exists ? "ALTER" : "CREATE")} ROLE {Identifier(role)} WITH {attributes}", transaction: tx);
    }

    /// <summary>
    /// DDL takes no parameters: the password goes into the statement, which is why it must be the hex of
    /// <see cref="Processes.UnixFiles.NewPassword"/>. The server logs no statement text (PostgresNode's settings).
    /// </summary>
    private static string Login(DatabaseLogin login) =>
        HexPassword().IsMatch(login.Password)
            ? $"LOGIN {Unprivileged} INHERIT PASSWORD '{login.Password}'"
            : throw new ArgumentException($"The password of {login.Role} is not a plain hex string.", nameof(login));

    private static string Identifier(string name) =>
        RoleName().IsMatch(name) ? $"\"{name}\"" : throw new ArgumentException($"'{name}' is not a plain lower-case role or database name.", nameof(name));

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex RoleName();

    [GeneratedRegex("^[0-9a-f]{32,}$")]
    private static partial Regex HexPassword();
}
