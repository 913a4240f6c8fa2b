using System.Globalization;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// A RabbitMQ node and a PostgreSQL cluster someone else started (deploy/test.sh, once per test run), named by
/// environment variables. Every hub on them gets its own virtual host, users and databases, so test fixtures
/// can share them without seeing each other's messages or rows.
/// </summary>
public sealed record ExternalNodes(
    string RabbitMqNodeName,
    int RabbitMqPort,
    int RabbitMqManagementPort,
    string RabbitMqAdminUser,
    string RabbitMqAdminPassword,
    int PostgresPort,
    string PostgresPassword)
{
    public const string EnabledVariable = "HUB_EXTERNAL_NODES";
    public const string RabbitMqNodeNameVariable = "HUB_RABBITMQ_NODENAME";
    public const string RabbitMqPortVariable = "HUB_RABBITMQ_PORT";
    public const string RabbitMqManagementPortVariable = "HUB_RABBITMQ_MANAGEMENT_PORT";
    public const string RabbitMqAdminUserVariable = "HUB_RABBITMQ_ADMIN_USER";
    public const string RabbitMqAdminPasswordVariable = "HUB_RABBITMQ_ADMIN_PASSWORD";
    public const string PostgresPortVariable = "HUB_PG_PORT";
    public const string PostgresPasswordVariable = "HUB_PG_PASSWORD";

    /// <summary>The external nodes when HUB_EXTERNAL_NODES=1, otherwise null; fails naming any missing variable.</summary>
    public static ExternalNodes? FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    public static ExternalNodes? FromVariables(Func<string, string?> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        if (read(EnabledVariable) != "1")
        {
            return null;
        }
        var missing = new List<string>();
        string Text(string name)
        {
            var value = read(name);
            if (string.IsNullOrWhiteSpace(value))
            {
                missing.Add(name);
            }
            return value ?? "";
        }
        int Port(string name)
        {
            var text = Text(name);
            if (text.Length > 0 && !(int.TryParse(text, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536))
            {
                missing.Add($"{name} (not a port: '{text}')");
            }
            return int.TryParse(text, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        }
        var nodes = new ExternalNodes(
            Text(RabbitMqNodeNameVariable),
            Port(RabbitMqPortVariable),
            Port(RabbitMqManagementPortVariable),
            Text(RabbitMqAdminUserVariable),
            Text(RabbitMqAdminPasswordVariable),
            Port(PostgresPortVariable),
            Text(PostgresPasswordVariable));
        return missing.Count == 0
            ? nodes
            : throw new LocalHubException($"{EnabledVariable}=1 but these are missing or invalid: {string.Join(", ", missing)}.");
    }

    /// <summary>The variables that describe these nodes, for a shell to export.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToVariables() =>
    [
        new(EnabledVariable, "1"),
        new(RabbitMqNodeNameVariable, RabbitMqNodeName),
        new(RabbitMqPortVariable, RabbitMqPort.ToString(CultureInfo.InvariantCulture)),
        new(RabbitMqManagementPortVariable, RabbitMqManagementPort.ToString(CultureInfo.InvariantCulture)),
        new(RabbitMqAdminUserVariable, RabbitMqAdminUser),
        new(RabbitMqAdminPasswordVariable, RabbitMqAdminPassword),
        new(PostgresPortVariable, PostgresPort.ToString(CultureInfo.InvariantCulture)),
        new(PostgresPasswordVariable, PostgresPassword),
    ];

    /// <summary>Hides the passwords, since records print every member.</summary>
    public override string ToString() =>
        $"RabbitMQ {RabbitMqNodeName} on {RabbitMqPort} (management {RabbitMqManagementPort}), PostgreSQL on {PostgresPort}";
}
