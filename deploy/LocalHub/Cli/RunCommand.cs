using System.CommandLine;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>'run': a hub on the fixed ports until Ctrl-C, SIGTERM or 'stop'.</summary>
internal static class RunCommand
{
    private const string FirstClientId = DemoRequests.ChildHealthClient;

    /// <summary>The demo consent as one line of JSON, pasted into a shell inside single quotes.</summary>
    private static string FirstConsentBody() => JsonSerializer.Serialize(DemoRequests.Consent(DemoIdentityNumbers.Child(0), DateTimeOffset.UtcNow));

    public static Command Create()
    {
        var stateDir = CommonOptions.StateDir("<repo>/.hub");
        var environment = new Option<string>("--environment")
        {
            Description = "ASPNETCORE_ENVIRONMENT and DOTNET_ENVIRONMENT of every process: Production unless asked (--environment Development).",
            // Production, as a deployment runs: the demo hub is what people try hostile input on, and what it shows must be
            // what a deployment does. Development (DI scope validation, developer pages) only when asked for.
            DefaultValueFactory = _ => "Production",
        };
        var instances = new Option<int>("--instances")
        {
            Description = "Processes per service (1-4), competing for its queues behind the gateway; instance n on port 5101+100(n-1)...",
            DefaultValueFactory = _ => 1,
        };
        var brokerNodes = new Option<int>("--broker-nodes")
        {
            Description = "1, or 3 for a RabbitMQ cluster (nodes on 5672-5674, management 15672-15674; data in rabbitmq-1..3 of the state directory).",
            DefaultValueFactory = _ => 1,
        };
        brokerNodes.AcceptOnlyFromAmong("1", "3");
        var command = new Command("run", "Start the hub on the fixed ports (gateway https://127.0.0.1:8443) and wait for Ctrl-C.")
        {
            stateDir, environment, instances, brokerNodes,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new HubOptions
            {
                StateDir = CommonOptions.Resolve(parseResult.GetValue(stateDir), ".hub"),
                UseFreePorts = false,
                // Its own nodes on the well-known ports, whatever a test run's variables say: the local hub is not a test.
                Nodes = HubNodes.Private,
                EnvironmentName = parseResult.GetRequiredValue(environment),
                Instances = parseResult.GetValue(instances),
                BrokerNodes = parseResult.GetValue(brokerNodes),
                Log = message => Console.WriteLine(message),
            };
            Hub hub;
            try
            {
                hub = await Hub.StartAsync(options, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("Stopped before the hub was ready.");
                return 130;
            }
            catch (LocalHubException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }

            await using (hub)
            {
                PrintWelcome(hub);
                await WatchAsync(hub, cancellationToken);
                Console.WriteLine("Stopping ...");
            }
            return 0;
        });
        return command;
    }

    private static void PrintWelcome(Hub hub)
    {
        string Relative(string path) => Path.GetRelativePath(Environment.CurrentDirectory, path);
        Console.WriteLine();
        Console.WriteLine($"Gateway     {hub.GatewayUrl}  (mutual TLS; client certificates in {Relative(Path.Combine(hub.PkiDir, "clients"))})");
        if (hub.Rabbit.IsOwned)
        {
            Console.WriteLine($"RabbitMQ    {hub.Rabbit.ManagementUrl}  (user {hub.Rabbit.AdminUser}, password in {Relative(Path.Combine(hub.Rabbit.Directory!, "admin-password"))})");
            foreach (var node in hub.RabbitNodes.Skip(1))
            {
                Console.WriteLine($"            {node.ManagementUrl}  ({node.NodeName}, same cluster)");
            }
        }
        if (hub.Postgres.IsOwned)
        {
            Console.WriteLine($"PostgreSQL  127.0.0.1:{hub.Postgres.Port}  (user postgres, password in {Relative(Path.Combine(hub.Postgres.Directory!, "pwfile"))})");
        }
        Console.WriteLine($"Logs        {Relative(hub.LogDir)}");
        Console.WriteLine();
        Console.WriteLine($"A first message, a consent recorded by the child-health EHR ({FirstClientId}):");
        Console.WriteLine($"  curl -s -w '\\n%{{http_code}}\\n' --cacert {Relative(hub.CaCertificatePath)} \\");
        Console.WriteLine($"    --cert {Relative(hub.ClientCertificatePath(FirstClientId))} --key {Relative(hub.ClientKeyPath(FirstClientId))} \\");
        Console.WriteLine($"    -H 'Content-Type: application/json' -d '{FirstConsentBody()}' \\");
        Console.WriteLine($"    {new Uri(hub.GatewayUrl, DemoRequests.ConsentPath)}");
        Console.WriteLine();
        Console.WriteLine("Then refer the family to preventive social services, and read the social services inbox: see README.md.");
        Console.WriteLine();
        Console.WriteLine("Ctrl-C (or deploy/stop.sh in another terminal) stops everything.");
    }

    /// <summary>Waits for cancellation, reporting a service that dies meanwhile (its log says why).</summary>
    private static async Task WatchAsync(Hub hub, CancellationToken cancellationToken)
    {
        var reported = new HashSet<string>();
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                foreach (var process in hub.Services.Keys.SelectMany(hub.Instances).Append(hub.Gateway))
                {
                    if (!process.IsRunning && reported.Add(process.Name))
                    {
                        Console.Error.WriteLine($"{process.Name} has exited; see {process.LogPath}");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
