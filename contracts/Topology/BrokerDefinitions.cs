using System.Text.Json;
using System.Text.Json.Nodes;

namespace FamiljecentralHub.Topology;

/// <summary>
/// The hub's broker set-up for one deployment as a RabbitMQ definitions file (the JSON that
/// <c>rabbitmqctl import_definitions</c>, the management API's <c>POST /api/definitions</c> and the
/// <c>definitions.import_backend</c> setting read): the virtual host, one user per service with its permissions, Ops's
/// monitoring user (<see cref="BrokerPermissions.MonitoringUser"/>)
/// (<see cref="BrokerPermissions"/>) and topic permission (<see cref="StatusRoutes"/>), and the boundary the deployment owns
/// (<see cref="Queues.DeploymentBindings"/>: the boundary, the ways back and the revocations; durable quorum queues, durable
/// fanout exchanges, their bindings). It is what
/// LocalHub provisions, so a deployment without LocalHub gets the same broker. The services declare the rest of their
/// queues and exchanges themselves, under their own permissions.
/// </summary>
/// <remarks>
/// The users carry no password: <c>"password_hash": ""</c> makes a user that cannot log in with a password at all.
/// The deployment sets each password from its own secret store after the import (<c>rabbitmqctl change_password
/// &lt;user&gt; &lt;secret&gt;</c>), so no secret is ever in the file, and an import that is repeated later leaves the
/// users unable to log in until their passwords are set again: fail closed.
/// </remarks>
public static class BrokerDefinitions
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The definitions for the services' users <paramref name="userOf"/> (default: the service's name) in <paramref name="virtualHost"/>.</summary>
    public static JsonObject For(string virtualHost, Func<string, string>? userOf = null)
    {
        userOf ??= service => service;
        var bindings = Queues.DeploymentBindings;
        return new JsonObject
        {
            ["users"] = Array(Catalogue.Services.Select(service => new JsonObject
            {
                ["name"] = userOf(service.Name),
                ["password_hash"] = "",
                ["hashing_algorithm"] = "rabbit_password_hashing_sha256",
                ["tags"] = new JsonArray(),
            }).Append(new JsonObject
            {
                ["name"] = userOf(BrokerPermissions.MonitoringUser),
                ["password_hash"] = "",
                ["hashing_algorithm"] = "rabbit_password_hashing_sha256",
                ["tags"] = new JsonArray(BrokerPermissions.MonitoringTag),
            })),
            ["vhosts"] = Array([new JsonObject { ["name"] = virtualHost }]),
            ["permissions"] = Array(Catalogue.Services.Select(service => new JsonObject
            {
                ["user"] = userOf(service.Name),
                ["vhost"] = virtualHost,
                ["configure"] = BrokerPermissions.For(service.Name).Configure,
                ["write"] = BrokerPermissions.For(service.Name).Write,
                ["read"] = BrokerPermissions.For(service.Name).Read,
            }).Append(new JsonObject
            {
                ["user"] = userOf(BrokerPermissions.MonitoringUser),
                ["vhost"] = virtualHost,
                ["configure"] = BrokerPermissions.Monitoring.Configure,
                ["write"] = BrokerPermissions.Monitoring.Write,
                ["read"] = BrokerPermissions.Monitoring.Read,
            })),
            ["topic_permissions"] = Array(Catalogue.Services.Select(service => new JsonObject
            {
                ["user"] = userOf(service.Name),
                ["vhost"] = virtualHost,
                ["exchange"] = StatusRoutes.PermissionOf(service).Exchange,
                ["write"] = StatusRoutes.PermissionOf(service).Write,
                ["read"] = StatusRoutes.PermissionOf(service).Read,
            })),
            ["queues"] = Array(bindings.Select(binding => binding.Queue).Distinct().Select(queue => new JsonObject
            {
                ["name"] = queue,
                ["vhost"] = virtualHost,
                ["durable"] = true,
                ["auto_delete"] = false,
                // As MassTransit's endpoints here declare theirs: the broker refuses a redeclaration with other arguments.
                ["arguments"] = new JsonObject { ["x-queue-type"] = "quorum" },
            })),
            ["exchanges"] = Array(bindings.Select(binding => binding.Exchange).Distinct().Select(exchange => new JsonObject
            {
                ["name"] = exchange,
                ["vhost"] = virtualHost,
                ["type"] = "fanout",
                ["durable"] = true,
                ["auto_delete"] = false,
                ["internal"] = false,
                ["arguments"] = new JsonObject(),
            })),
            ["bindings"] = Array(bindings.Select(binding => new JsonObject
            {
                ["source"] = binding.Exchange,
                ["vhost"] = virtualHost,
                ["destination"] = binding.Queue,
                ["destination_type"] = "queue",
                ["routing_key"] = "",
                ["arguments"] = new JsonObject(),
            })),
        };
    }

    public static string ToJson(string virtualHost, Func<string, string>? userOf = null) => For(virtualHost, userOf).ToJsonString(Indented);

    private static JsonArray Array(IEnumerable<JsonNode> items) => new([.. items]);
}
