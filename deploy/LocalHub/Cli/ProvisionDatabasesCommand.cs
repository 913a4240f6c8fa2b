using System.CommandLine;
using Npgsql;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'provision-databases': a deployment's database provisioning job (deploy/kubernetes), run once as the superuser
/// before any migration: one database per service and its two logins with the passwords of the provisioning Secret
/// (one file per role, written by 'deployment-secrets'), exactly as LocalHub provisions its own (<see cref="DatabaseProvisioning"/>).
/// Idempotent; waits for the server to accept connections first, so the job may start beside it.
/// </summary>
internal static class ProvisionDatabasesCommand
{
    public static Command Create()
    {
        var secrets = new Option<string>("--secrets-dir") { Description = "One file per role: 'postgres' (the superuser) and each service's logins.", Required = true };
        var host = new Option<string>("--host") { Description = "PostgreSQL's address.", DefaultValueFactory = _ => "postgres" };
        var port = new Option<int>("--port") { Description = "PostgreSQL's port.", DefaultValueFactory = _ => 5432 };
        var command = new Command("provision-databases", "Create each service's database and its migration and run-time logins, as the superuser.") { secrets, host, port };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var directory = parseResult.GetRequiredValue(secrets);
            string Password(string role) => File.ReadAllText(Path.Combine(directory, role)).Trim();
            var postgres = PostgresNode.External(parseResult.GetRequiredValue(host), parseResult.GetRequiredValue(port), Password("postgres"));
            await WaitForServerAsync(postgres, cancellationToken);
            foreach (var service in HubService.All)
            {
                await postgres.CreateDatabaseAsync(service.Database, cancellationToken);
            }
            await DatabaseProvisioning.ApplyAsync(
                postgres,
                [.. HubService.All.Select(service => new ServiceDatabase(
                    service.Database, service.Catalogued,
                    new DatabaseLogin(service.Database + "_migrator", Password(service.Database + "_migrator")),
                    new DatabaseLogin(service.Database + "_runtime", Password(service.Database + "_runtime"))))],
                cancellationToken);
            Console.WriteLine($"Provisioned {HubService.All.Count} databases and their logins.");
            return 0;
        });
        return command;
    }

    private static async Task WaitForServerAsync(PostgresNode postgres, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                await using var connection = await postgres.OpenAdminConnectionAsync("postgres", cancellationToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }
}
