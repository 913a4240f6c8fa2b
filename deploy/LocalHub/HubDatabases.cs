using FamiljecentralHub.LocalHub.Processes;
using Npgsql;

namespace FamiljecentralHub.LocalHub;

/// <summary>A login on PostgreSQL for one purpose of one service.</summary>
public sealed record DatabaseLogin(string Role, string Password)
{
    public override string ToString() => Role;
}

/// <summary>
/// One database per service on the hub's PostgreSQL node, and two logins for each (<see cref="DatabaseProvisioning"/>):
/// the migration role, which owns the service's schema and runs its <c>migrate</c> command before the service starts,
/// and the run-time role the service logs in with. On a shared node every name carries the hub's instance id, so
/// fixtures never see each other's rows or logins. Passwords are fresh for every hub, like the broker accounts.
/// </summary>
internal sealed class HubDatabases
{
    private readonly PostgresNode postgres;
    private readonly string instanceId;
    private readonly bool sharedNodes;
    private readonly Dictionary<string, (DatabaseLogin Migration, DatabaseLogin Runtime)> logins;

    public HubDatabases(PostgresNode postgres, string instanceId, bool sharedNodes)
    {
        this.postgres = postgres;
        this.instanceId = instanceId;
        this.sharedNodes = sharedNodes;
        logins = HubService.All.ToDictionary(
            service => service.Name,
            service => (new DatabaseLogin(Name(service) + "_migrator", UnixFiles.NewPassword()), new DatabaseLogin(Name(service) + "_runtime", UnixFiles.NewPassword())));
    }

    public string Name(HubService service) => sharedNodes ? $"h{instanceId}_{service.Database}" : service.Database;

    public DatabaseLogin MigrationLogin(HubService service) => logins[service.Name].Migration;

    public DatabaseLogin RuntimeLogin(HubService service) => logins[service.Name].Runtime;

    /// <summary>The connection string the service gets: its run-time role on its own database.</summary>
    public string ConnectionString(HubService service) => ConnectionString(service, RuntimeLogin(service));

    /// <summary>The migration role's, for the service's <c>migrate</c> command only.</summary>
    public string MigrationConnectionString(HubService service) => ConnectionString(service, MigrationLogin(service));

    /// <summary>The superuser's on the service's database: for tests that play the DBA (a constraint that poisons a table).</summary>
    public string AdminConnectionString(HubService service) => postgres.ConnectionString(Name(service));

    /// <summary>Creates every database and provisions its roles; safe to repeat on a node that kept them.</summary>
    public async Task CreateAllAsync(CancellationToken cancellationToken)
    {
        foreach (var service in HubService.All)
        {
            await postgres.CreateDatabaseAsync(Name(service), cancellationToken);
        }

        await DatabaseProvisioning.ApplyAsync(
            postgres,
            [.. HubService.All.Select(service => new ServiceDatabase(Name(service), service.Catalogued, MigrationLogin(service), RuntimeLogin(service)))],
            cancellationToken);
    }

    /// <summary>Drops this hub's databases and then its logins (a shared node's group roles stay for the other hubs).</summary>
    public async Task DropAllAsync(Func<Func<Task>, Task> attempt)
    {
        await Task.WhenAll(HubService.All.Select(service => attempt(() => postgres.DropDatabaseAsync(Name(service)))));
        await attempt(() => DatabaseProvisioning.DropLoginsAsync(
            postgres, [.. logins.Values.SelectMany(pair => new[] { pair.Migration.Role, pair.Runtime.Role })], CancellationToken.None));
    }

    private string ConnectionString(HubService service, DatabaseLogin login) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = postgres.Host,
            Port = postgres.Port,
            Database = Name(service),
            Username = login.Role,
            Password = login.Password,
        }.ConnectionString;
}
