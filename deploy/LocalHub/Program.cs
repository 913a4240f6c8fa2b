using System.CommandLine;
using FamiljecentralHub.LocalHub.Cli;

var root = new RootCommand("Starts and stops a local FamiljecentralHub: RabbitMQ, PostgreSQL, the demo PKI, the six services and the gateway.");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(StopCommand.Create());
root.Subcommands.Add(NodesCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(GatewayBenchCommand.Create());
root.Subcommands.Add(SearchBenchCommand.Create());
root.Subcommands.Add(TransportBenchCommand.Create());
root.Subcommands.Add(BenchLedgerCommand.Create());
root.Subcommands.Add(ExecCommand.Create());
root.Subcommands.Add(DefinitionsCommand.Create());
root.Subcommands.Add(RevokeCommand.Create());
root.Subcommands.Add(DeploymentSecretsCommand.Create());
root.Subcommands.Add(ProvisionDatabasesCommand.Create());

return await root.Parse(args).InvokeAsync(new InvocationConfiguration
{
    // Ctrl-C and SIGTERM cancel the action's token; stopping services and nodes in order takes up to about
    // 30 s, and System.CommandLine would end the process after its default 2 s.
    ProcessTerminationTimeout = TimeSpan.FromSeconds(120),
});
