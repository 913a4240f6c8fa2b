using System.CommandLine;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'definitions': the hub's broker set-up for a deployment without LocalHub, as a RabbitMQ definitions file on standard
/// output (<see cref="BrokerDefinitions"/>; docs/broker-permissions.md says how to import it and set the passwords).
/// </summary>
internal static class DefinitionsCommand
{
    public static Command Create()
    {
        var virtualHost = new Option<string>("--vhost") { Description = "The virtual host the hub runs in.", DefaultValueFactory = _ => "/" };
        var userPrefix = new Option<string>("--user-prefix")
        {
            Description = "Put before each service's name to make its broker user (for a broker shared by several hubs).",
            DefaultValueFactory = _ => "",
        };
        var command = new Command(
            "definitions",
            "Write the RabbitMQ definitions (virtual host, users without passwords, permissions, the boundary's queues, exchanges and bindings) for rabbitmqctl import_definitions.")
        {
            virtualHost, userPrefix,
        };
        command.SetAction(parseResult =>
        {
            var prefix = parseResult.GetRequiredValue(userPrefix);
            Console.Out.WriteLine(BrokerDefinitions.ToJson(parseResult.GetRequiredValue(virtualHost), service => prefix + service));
            return 0;
        });
        return command;
    }
}
