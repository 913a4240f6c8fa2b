using System.CommandLine;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'nodes': starts one private RabbitMQ node and one PostgreSQL cluster, leaves them running and prints the
/// HUB_* variables that make every hub (test fixture) use them. deploy/test.sh starts them once per test run;
/// 'stop' with the same state directory stops them.
/// </summary>
internal static class NodesCommand
{
    private const string Marker = ".localhub-nodes";

    public static Command Create()
    {
        var stateDir = CommonOptions.StateDir("<repo>/.hub/test-nodes");
        var rabbitPort = new Option<int>("--rabbitmq-port") { Description = "AMQP port; 0 (default) picks a free one." };
        var postgresPort = new Option<int>("--postgres-port") { Description = "PostgreSQL port; 0 (default) picks a free one." };
        var command = new Command(
            "nodes",
            "Start a private RabbitMQ node and PostgreSQL cluster for shared use and print 'export HUB_...' lines for a shell to eval.")
        {
            stateDir, rabbitPort, postgresPort,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var directory = CommonOptions.Resolve(parseResult.GetValue(stateDir), Path.Combine(".hub", "test-nodes"));
            try
            {
                var nodes = await StartAsync(directory, parseResult.GetValue(rabbitPort), parseResult.GetValue(postgresPort), cancellationToken);
                foreach (var (name, value) in nodes.ToVariables())
                {
                    Console.WriteLine($"export {name}='{value}'");
                }
                return 0;
            }
            catch (LocalHubException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        });
        return command;
    }

    private static async Task<ExternalNodes> StartAsync(string directory, int rabbitPort, int postgresPort, CancellationToken cancellationToken)
    {
        void Log(string message) => Console.Error.WriteLine(message);

        // Whatever an earlier run left behind in this directory is stopped, and its data discarded: every run
        // starts from empty nodes so no test depends on what a previous one left.
        await HubStateCleanup.StopAsync(directory, signalLiveOwner: false, Log, cancellationToken);
        var marker = Path.Combine(directory, Marker);
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any() && !File.Exists(marker))
        {
            // The directory is about to be wiped; never do that to one 'nodes' did not create (a typo like --state-dir .).
            throw new LocalHubException($"{directory} exists and was not created by 'nodes'; choose another --state-dir.");
        }
        var nodesDir = UnixFiles.NodesDirectoryFor(directory);
        UnixFiles.DeleteDirectory(directory);
        UnixFiles.DeleteDirectory(nodesDir);
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(marker, "Created by 'FamiljecentralHub.LocalHub nodes'; deleted with everything here by 'stop'.\n", cancellationToken);

        var rabbit = RabbitMqNode.Private(
            Path.Combine(nodesDir, "rabbitmq"), rabbitPort == 0 ? FreePorts.Next() : rabbitPort, FreePorts.Next(), FreePorts.Next());
        var postgres = PostgresNode.Private(Path.Combine(nodesDir, "postgres"), postgresPort == 0 ? FreePorts.Next() : postgresPort);

        HubState Record() => new()
        {
            RabbitMqNodes = [new RabbitMqState(rabbit.Directory!, rabbit.AmqpPort, rabbit.ManagementPort, rabbit.DistributionPort, rabbit.StartedEpmd)],
            Postgres = new PostgresState(postgres.Directory!, postgres.Port),
            DeleteOnStop = nodesDir == directory ? [directory] : [directory, nodesDir],
        };
        // Recorded before starting, so a start that fails half-way can still be stopped.
        Record().Write(directory);
        try
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            Log($"Starting RabbitMQ {rabbit.NodeName} and PostgreSQL on port {postgres.Port} in {directory} ...");
            await Task.WhenAll(rabbit.StartAsync(cancellationToken), postgres.StartAsync(cancellationToken));
            Record().Write(directory);
            Log($"Nodes ready in {stopwatch.Elapsed.TotalSeconds:0.0} s.");
        }
        catch
        {
            Record().Write(directory);
            await HubStateCleanup.StopAsync(directory, signalLiveOwner: false, Log, CancellationToken.None);
            throw;
        }
        return new ExternalNodes(
            rabbit.NodeName, rabbit.AmqpPort, rabbit.ManagementPort, rabbit.AdminUser, rabbit.AdminPassword, postgres.Port, postgres.Password);
    }
}
