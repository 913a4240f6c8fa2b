using Dapper;
using FamiljecentralHub.LocalHub.Processes;
using Npgsql;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// PostgreSQL for tests that need a database and nothing else, from where the run's hubs take theirs
/// (<see cref="TestNodes"/>): the shared test cluster when deploy/test.sh names one (HUB_EXTERNAL_NODES), a container of
/// the hub's PostgreSQL image, or a private cluster of its own. Every <see cref="NewDatabaseAsync"/> is a fresh database,
/// dropped again at dispose.
/// </summary>
public sealed class ScratchPostgres : IAsyncDisposable
{
    private readonly List<string> databases = [];
    private readonly PostgresNode node;
    private readonly string? privateDirectory;
    private readonly ContainerNodes? container;
    private readonly string prefix;

    private ScratchPostgres(PostgresNode node, string? privateDirectory, string prefix, ContainerNodes? container = null)
    {
        this.node = node;
        this.privateDirectory = privateDirectory;
        this.prefix = prefix;
        this.container = container;
    }

    public static async Task<ScratchPostgres> StartAsync(string prefix, CancellationToken cancellationToken)
    {
        // The databases are the superuser's, and so are the tests' connections; the group roles the migration scripts
        // grant to must exist all the same (DatabaseProvisioning).
        switch (TestNodes.FromEnvironment())
        {
            case TestNodeSource.Shared:
                var external = ExternalNodes.FromEnvironment()!;
                var shared = PostgresNode.External(external.PostgresPort, external.PostgresPassword);
                await DatabaseProvisioning.EnsureGroupsAsync(shared, cancellationToken);
                return new ScratchPostgres(shared, null, prefix);
            case TestNodeSource.Containers:
                var container = await ContainerNodes.StartAsync(prefix, withBroker: false, log: null, cancellationToken);
                try
                {
                    var inContainer = PostgresNode.External(container.Nodes.PostgresPort, container.Nodes.PostgresPassword);
                    await DatabaseProvisioning.EnsureGroupsAsync(inContainer, cancellationToken);
                    return new ScratchPostgres(inContainer, null, prefix, container);
                }
                catch
                {
                    await container.DisposeAsync();
                    throw;
                }
        }

        if (PrivateNodes.Unavailable is { } unavailable)
        {
            throw new LocalHubException(unavailable);
        }
        // Not under /root: the postgres user must reach it.
        var directory = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}");
        var node = PostgresNode.Private(directory, FreePorts.Next());
        await node.StartAsync(cancellationToken);
        await DatabaseProvisioning.EnsureGroupsAsync(node, cancellationToken);
        return new ScratchPostgres(node, directory, prefix);
    }

    /// <summary>A new database with <paramref name="schemaSql"/> applied.</summary>
    public Task<NpgsqlDataSource> NewDatabaseAsync(string schemaSql, CancellationToken cancellationToken) =>
        NewDatabaseAsync(
            async (dataSource, token) =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(token);
                await connection.ExecuteAsync(schemaSql);
            },
            cancellationToken);

    /// <summary>A new database, made ready by <paramref name="prepare"/> (a service's migrations, say).</summary>
    public async Task<NpgsqlDataSource> NewDatabaseAsync(Func<NpgsqlDataSource, CancellationToken, Task> prepare, CancellationToken cancellationToken)
    {
        var dataSource = NpgsqlDataSource.Create(await NewEmptyDatabaseAsync(cancellationToken));
        await prepare(dataSource, cancellationToken);
        return dataSource;
    }

    /// <summary>
    /// A new, empty database's connection string, password included (the superuser's): for a service hosted in the test,
    /// whose migrations the test applies first, as a hub runs the service's migrate command before the service.
    /// </summary>
    public async Task<string> NewEmptyDatabaseAsync(CancellationToken cancellationToken)
    {
        var name = $"{prefix.Replace('-', '_')}_{Guid.NewGuid().ToString("N")[..12]}";
        await node.CreateDatabaseAsync(name, cancellationToken);
        databases.Add(name);
        return node.ConnectionString(name);
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
        if (container is not null)
        {
            // The container goes with its databases.
            await container.DisposeAsync();
            return;
        }
        foreach (var name in databases)
        {
            await node.DropDatabaseAsync(name);
        }
    }
}
