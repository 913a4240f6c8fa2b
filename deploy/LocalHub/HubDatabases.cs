using System.Globalization;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// One database per service on the hub's PostgreSQL node. On a shared node every name carries the hub's instance id,
/// so fixtures never see each other's rows; the services create their own tables (numbered migrations at start).
/// </summary>
internal sealed class HubDatabases(PostgresNode postgres, string instanceId, bool sharedNodes)
{
    public string Name(HubService service) => sharedNodes ? $"h{instanceId}_{service.Database}" : service.Database;

    /// <summary>The connection string the service gets (superuser 'postgres' on its own database).</summary>
    public string ConnectionString(HubService service) =>
        string.Create(CultureInfo.InvariantCulture, $"Host={postgres.Host};Port={postgres.Port};Database={Name(service)};Username=postgres;Password={postgres.Password}");

    public async Task CreateAllAsync(CancellationToken cancellationToken)
    {
        foreach (var service in HubService.All)
        {
            await postgres.CreateDatabaseAsync(Name(service), cancellationToken);
        }
    }
}
