using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.ServiceDefaults.Data;

/// <summary>
/// <c>dotnet FamiljecentralHub.&lt;Service&gt;.dll migrate</c>: applies the service's migrations (<see cref="SchemaMigrations"/>)
/// with the connection string it is given, which is the migration role's, and exits. The service itself logs in with
/// its run-time role, which may not change the schema, and only checks at start that this has run
/// (docs/security.md, "Database roles"). A deployment runs it as a job before a new version starts; LocalHub runs it
/// before it starts the services. Waits for a database that is still starting, like the service does.
/// </summary>
public static class MigrateCommand
{
    /// <summary>Every script is applied (some now, or all before).</summary>
    public const int Done = 0;

    /// <summary>A script failed (and was rolled back with its journal row) or the login may not apply it.</summary>
    public const int Failed = 1;

    /// <summary>ConnectionStrings:Database is not set.</summary>
    public const int NotConfigured = 3;

    public static bool IsInvoked(string[] args) => args is ["migrate"];

    /// <param name="migrations">The assembly whose embedded Migrations/*.sql are the service's schema.</param>
    public static async Task<int> RunAsync(IConfiguration configuration, Assembly migrations)
    {
        if (configuration.GetConnectionString("Database") is not { Length: > 0 } connectionString)
        {
            await Console.Error.WriteLineAsync("ConnectionStrings:Database is not set: the migration role's connection string.");
            return NotConfigured;
        }

        using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));
        await using var dataSource = DatabaseExtensions.CreateDataSource(connectionString);
        try
        {
            // The migrator logs what it applied; when that is nothing, it says nothing, so the command says so here.
            if ((await new SchemaMigrator(dataSource, migrations, loggerFactory).MigrateAsync(CancellationToken.None)).Count == 0)
            {
                Console.WriteLine("Schema current: nothing to apply.");
            }

            return Done;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
        {
            // The scripts hold no personal data, and the data source reports no row detail: the message says what failed.
            await Console.Error.WriteLineAsync($"Migration failed: {e.Message}");
            return Failed;
        }
    }
}
