using System.Globalization;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// What each process of a hub is told, as environment variables only (the same configuration path a deployment uses):
/// a service its address, broker account, database and keys; the gateway its certificates and every instance behind
/// each route. <see cref="HubOptions.ConfigureEnvironment"/> has the last word.
/// </summary>
internal sealed class ServiceEnvironment(Hub hub, HubOptions options, RepositoryLayout layout, RabbitMqCluster broker)
{
    public const string GatewayName = "gateway";

    public Dictionary<string, string> ForService(HubService service, int instance)
    {
        var account = hub.BrokerAccount(service.Name);
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = hub.ServiceUrl(service.Name, instance).ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = options.EnvironmentName,
            ["DOTNET_ENVIRONMENT"] = options.EnvironmentName,
            ["RabbitMq__Host"] = hub.Rabbit.Host,
            ["RabbitMq__Port"] = hub.Rabbit.AmqpPort.ToString(CultureInfo.InvariantCulture),
            // Every node, so a service whose node goes away reconnects to another (empty for a single node).
            ["RabbitMq__Nodes"] = string.Join(',', broker.AmqpAddresses.Skip(1)),
            ["RabbitMq__VirtualHost"] = hub.VirtualHost,
            ["RabbitMq__Username"] = account.User,
            ["RabbitMq__Password"] = account.Password,
            ["ConnectionStrings__Database"] = hub.ConnectionString(service.Name),
            ["Organisation__Path"] = layout.OrganisationPath,
            ["CallerToken__PublicKeyPath"] = Path.Combine(hub.PkiDir, "caller-token.pub.pem"),
            ["Pseudonym__Key"] = hub.PseudonymKey,
            // HTTPS only, with its certificate from the internal CA; callers must hold one from that CA too (the gateway).
            ["Tls__CertificatePath"] = Path.Combine(hub.PkiDir, "internal", service.Name + ".pem"),
            ["Tls__KeyPath"] = Path.Combine(hub.PkiDir, "internal", service.Name + ".key"),
            ["Tls__ClientCaPath"] = hub.InternalCaCertificatePath,
            // The watchdog's restart count outlives the restart (hub_messaging_watchdog_restarts_total), one file per instance.
            ["Watchdog__StatePath"] = Path.Combine(hub.WatchdogStateDir(service.Name), $"instance-{instance}.json"),
        };
        if (service.Name == Catalogue.Ops.Name)
        {
            // The alerts (docs/alerts.md): queue depths through the management API as the read-only monitoring user, and
            // the metrics of every service instance and of the gateway's health port.
            var monitoring = hub.MonitoringAccount;
            environment["Alerts__Broker__ManagementUrl"] = hub.Rabbit.ManagementUrl.ToString();
            environment["Alerts__Broker__VirtualHost"] = hub.VirtualHost;
            environment["Alerts__Broker__Username"] = monitoring.User;
            environment["Alerts__Broker__Password"] = monitoring.Password;
            environment["Alerts__GatewayMetricsUrl"] = hub.GatewayHealthUrl.ToString().TrimEnd('/');
            foreach (var each in HubService.All)
            {
                environment[$"Alerts__Services__{each.Name}"] = string.Join(',', Enumerable.Range(1, options.Instances)
                    .Select(number => hub.ServiceUrl(each.Name, number).ToString().TrimEnd('/')));
            }
        }
        if (service.Name == Catalogue.Consent.Name)
        {
            // The gate alone holds the ledger-signing key; verifying its checkpoints needs only the public key.
            environment["Ledger__SigningKeyPath"] = Path.Combine(hub.PkiDir, "ledger-signing.key");
            environment["Ledger__VerificationKeyPaths__0"] = Path.Combine(hub.PkiDir, "ledger-signing.pub.pem");
            environment["Ledger__CheckpointDirectory"] = hub.LedgerCheckpointDir;
            // A minute by default; a local hub (the tests, the demo) anchors every 10 s, so a test sees checkpoints soon.
            environment["Ledger__CheckpointInterval"] = "00:00:10";
        }

        options.ConfigureEnvironment?.Invoke(service.Name, environment);
        return environment;
    }

    /// <summary>The service's <c>migrate</c> command: its migration role's connection string and nothing else it does not need.</summary>
    public Dictionary<string, string> ForMigration(HubService service) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = options.EnvironmentName,
        ["DOTNET_ENVIRONMENT"] = options.EnvironmentName,
        ["ConnectionStrings__Database"] = hub.MigrationConnectionString(service.Name),
    };

    public Dictionary<string, string> ForGateway()
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = options.EnvironmentName,
            ["DOTNET_ENVIRONMENT"] = options.EnvironmentName,
            ["Gateway__Url"] = hub.GatewayUrl.ToString().TrimEnd('/'),
            ["Gateway__HealthUrl"] = hub.GatewayHealthUrl.ToString().TrimEnd('/'),
            ["Gateway__ServerCertificatePath"] = Path.Combine(hub.PkiDir, "gateway.pem"),
            ["Gateway__ServerKeyPath"] = Path.Combine(hub.PkiDir, "gateway.key"),
            ["Gateway__ClientCaPath"] = hub.CaCertificatePath,
            ["Gateway__ClientCrlPath"] = hub.CrlPath,
            ["Gateway__ClientsPath"] = layout.ClientsPath,
            ["CallerToken__PrivateKeyPath"] = Path.Combine(hub.PkiDir, "caller-token.key"),
            // Its side of the hop to the services: their CA, and its own certificate every caller token is bound to.
            ["ServiceHop__CaPath"] = hub.InternalCaCertificatePath,
            ["ServiceHop__ClientCertificatePath"] = Path.Combine(hub.PkiDir, "internal", "gateway-hop.pem"),
            ["ServiceHop__ClientKeyPath"] = Path.Combine(hub.PkiDir, "internal", "gateway-hop.key"),
        };
        foreach (var service in HubService.All)
        {
            // Several instances: the gateway balances over them and skips one that is not ready.
            environment[$"Services__{service.Name}"] = string.Join(',', Enumerable.Range(1, options.Instances)
                .Select(instance => hub.ServiceUrl(service.Name, instance).ToString().TrimEnd('/')));
        }
        options.ConfigureEnvironment?.Invoke(GatewayName, environment);
        return environment;
    }
}
