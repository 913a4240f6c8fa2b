using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.Topology;
using Npgsql;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'deployment-secrets': everything secret a containerised hub needs (deploy/kubernetes), made on this machine and
/// never committed: the demo PKI, the broker and database passwords, the pseudonym key and the Erlang cookie, laid out
/// one directory per Kubernetes Secret and one file per setting, as a Secret volume mounts it (SecretsDirectory,
/// docs/configuration.md). The broker definitions are written here too, with each user's password hash, so a node
/// started from that file alone has the hub's users, permissions and boundary (docs/broker-permissions.md).
/// Idempotent: passwords and keys already in the directory are kept; what depends on them is written again.
/// </summary>
internal static class DeploymentSecretsCommand
{
    public static Command Create()
    {
        var directory = new Option<string>("--dir") { Description = "Where to write the secrets.", Required = true };
        var postgresHost = new Option<string>("--postgres-host") { Description = "PostgreSQL's address as the services reach it.", DefaultValueFactory = _ => "postgres" };
        var postgresPort = new Option<int>("--postgres-port") { Description = "PostgreSQL's port.", DefaultValueFactory = _ => 5432 };
        var virtualHost = new Option<string>("--vhost") { Description = "The broker's virtual host.", DefaultValueFactory = _ => "/" };
        var command = new Command("deployment-secrets", "Write the secrets of a containerised hub (PKI, passwords, keys, broker definitions) for deploy/kubernetes.")
        {
            directory, postgresHost, postgresPort, virtualHost,
        };
        command.SetAction(parseResult =>
        {
            Write(
                Path.GetFullPath(parseResult.GetRequiredValue(directory)), parseResult.GetRequiredValue(postgresHost),
                parseResult.GetRequiredValue(postgresPort), parseResult.GetRequiredValue(virtualHost));
            return 0;
        });
        return command;
    }

    private static void Write(string root, string postgresHost, int postgresPort, string virtualHost)
    {
        var layout = RepositoryLayout.Locate();
        var pki = DemoPki.Ensure(Path.Combine(root, "pki"), layout.ReadClientIds());
        string Keep(string name, Func<string> create) => UnixFiles.ReadOrCreateSecret(Path.Combine(root, "kept", name), create);
        var pseudonymKey = Keep("pseudonym-key", () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var postgresPassword = Keep("postgres", UnixFiles.NewPassword);
        var cookie = Keep("erlang-cookie", () => Convert.ToHexString(RandomNumberGenerator.GetBytes(20)));

        // Public files every process may read: the CAs, the client CA's revocation list, the public keys.
        Copy(pki.InternalCaCertificatePath, root, "public", "internal-ca.pem");
        Copy(pki.CaCertificatePath, root, "public", "client-ca.pem");
        Copy(pki.CrlPath, root, "public", "client-ca.crl.pem");
        Copy(pki.CallerTokenPublicKeyPath, root, "public", "caller-token.pub.pem");
        Copy(pki.LedgerSigningPublicKeyPath, root, "public", "ledger-signing.pub.pem");

        var logins = new Dictionary<string, string> { ["postgres"] = postgresPassword };
        var brokerUsers = new Dictionary<string, string>();
        foreach (var service in HubService.All)
        {
            var brokerPassword = Keep($"rabbitmq-{service.Name}", UnixFiles.NewPassword);
            brokerUsers[service.Name] = brokerPassword;
            var migrator = (Role: service.Database + "_migrator", Password: Keep($"{service.Database}_migrator", UnixFiles.NewPassword));
            var runtime = (Role: service.Database + "_runtime", Password: Keep($"{service.Database}_runtime", UnixFiles.NewPassword));
            logins[migrator.Role] = migrator.Password;
            logins[runtime.Role] = runtime.Password;

            // SecretsDirectory of the service: one file per setting.
            Secret(root, $"{service.Name}-settings", "RabbitMq__Password", brokerPassword);
            Secret(root, $"{service.Name}-settings", "ConnectionStrings__Database", Connection(postgresHost, postgresPort, service.Database, runtime));
            Secret(root, $"{service.Name}-settings", "Pseudonym__Key", pseudonymKey);
            Secret(root, $"{service.Name}-migrate", "ConnectionStrings__Database", Connection(postgresHost, postgresPort, service.Database, migrator));
            Copy(pki.ServiceCertificatePath(service.Name), root, $"{service.Name}-tls", "tls.pem");
            Copy(pki.ServiceKeyPath(service.Name), root, $"{service.Name}-tls", "tls.key");
        }
        Copy(pki.LedgerSigningPrivateKeyPath, root, "consent-tls", "ledger-signing.key");
        // Ops's read-only management login for the alerts' queue depths (docs/alerts.md).
        var monitoringPassword = Keep($"rabbitmq-{BrokerPermissions.MonitoringUser}", UnixFiles.NewPassword);
        brokerUsers[BrokerPermissions.MonitoringUser] = monitoringPassword;
        Secret(root, $"{Catalogue.Ops.Name}-settings", "Alerts__Broker__Password", monitoringPassword);

        Copy(pki.GatewayCertificatePath, root, "gateway-tls", "gateway.pem");
        Copy(pki.GatewayKeyPath, root, "gateway-tls", "gateway.key");
        Copy(pki.CallerTokenPrivateKeyPath, root, "gateway-tls", "caller-token.key");
        Copy(pki.GatewayHopCertificatePath, root, "gateway-tls", "gateway-hop.pem");
        Copy(pki.GatewayHopKeyPath, root, "gateway-tls", "gateway-hop.key");

        // The provisioning job: the superuser's password and every login's, one file per role.
        foreach (var (role, password) in logins)
        {
            Secret(root, "database-provisioning", role, password);
        }
        Secret(root, "postgres", "password", postgresPassword);
        Secret(root, "rabbitmq", "erlang-cookie", cookie);
        Secret(root, "rabbitmq", "definitions.json", DefinitionsWithPasswords(virtualHost, brokerUsers));
        Console.WriteLine($"Wrote the hub's deployment secrets to {root}.");
    }

    /// <summary>
    /// The definitions file with each user's password hash (RabbitMQ's rabbit_password_hashing_sha256: base64 of a
    /// 4-byte salt followed by SHA-256 of the salt and the password), so the node needs no change_password after import.
    /// </summary>
    private static string DefinitionsWithPasswords(string virtualHost, Dictionary<string, string> passwords)
    {
        var definitions = BrokerDefinitions.For(virtualHost);
        foreach (var user in definitions["users"]!.AsArray())
        {
            var salt = RandomNumberGenerator.GetBytes(4);
            var hash = SHA256.HashData([.. salt, .. Encoding.UTF8.GetBytes(passwords[user!["name"]!.GetValue<string>()])]);
            user["password_hash"] = Convert.ToBase64String([.. salt, .. hash]);
        }
        return definitions.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static string Connection(string host, int port, string database, (string Role, string Password) login) =>
        new NpgsqlConnectionStringBuilder { Host = host, Port = port, Database = database, Username = login.Role, Password = login.Password }.ConnectionString;

    private static void Secret(string root, string secret, string key, string value) =>
        UnixFiles.WriteSecret(Path.Combine(root, "secrets", secret, key), value);

    private static void Copy(string source, string root, string secret, string key)
    {
        var target = secret == "public" ? Path.Combine(root, "public", key) : Path.Combine(root, "secrets", secret, key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target, overwrite: true);
        UnixFiles.SetMode(target, secret == "public"
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead
            : UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
