using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// The node's management API as the administrator: virtual hosts, users, permissions, the boundary's queues and
/// exchanges, definitions and connections. Works on private and external nodes alike.
/// </summary>
public sealed partial class RabbitMqNode
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task CreateVirtualHostAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"vhosts/{Uri.EscapeDataString(name)}", new { }, cancellationToken);

    /// <summary>Deletes a virtual host with its queues and exchanges; a missing one is not an error.</summary>
    public Task DeleteVirtualHostAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"vhosts/{Uri.EscapeDataString(name)}", null, cancellationToken);

    /// <summary>Creates the user or sets its password (and tags) if it exists; no tag by default, so no management access.</summary>
    public Task CreateUserAsync(string user, string password, CancellationToken cancellationToken = default, string tags = "") =>
        SendAsync(HttpMethod.Put, $"users/{Uri.EscapeDataString(user)}", new { password, tags }, cancellationToken);

    public Task DeleteUserAsync(string user, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"users/{Uri.EscapeDataString(user)}", null, cancellationToken);

    public Task SetPermissionsAsync(string virtualHost, string user, BrokerPermission permission, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Put,
            $"permissions/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(user)}",
            new { configure = permission.Configure, write = permission.Write, read = permission.Read },
            cancellationToken);

    /// <summary>Which routing keys the user may publish with and bind with on one topic exchange.</summary>
    public Task SetTopicPermissionAsync(string virtualHost, string user, TopicPermission permission, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Put,
            $"topic-permissions/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(user)}",
            new { exchange = permission.Exchange, write = permission.Write, read = permission.Read },
            cancellationToken);

    /// <summary>
    /// A durable quorum queue, exactly as MassTransit's endpoints here declare theirs (the broker refuses a
    /// redeclaration with other arguments). Declaring an existing one is a no-op.
    /// </summary>
    public Task DeclareQuorumQueueAsync(string virtualHost, string queue, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Put,
            $"queues/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(queue)}",
            new { durable = true, auto_delete = false, arguments = new Dictionary<string, object> { ["x-queue-type"] = "quorum" } },
            cancellationToken);

    /// <summary>A durable fanout exchange, as MassTransit declares one it sends to. Declaring an existing one is a no-op.</summary>
    public Task DeclareFanoutExchangeAsync(string virtualHost, string exchange, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Put,
            $"exchanges/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(exchange)}",
            new { type = "fanout", durable = true, auto_delete = false, @internal = false, arguments = new { } },
            cancellationToken);

    /// <summary>Binds a queue to an exchange with an empty routing key; binding twice is a no-op.</summary>
    public Task BindQueueAsync(string virtualHost, string exchange, string queue, CancellationToken cancellationToken = default) =>
        SendAsync(
            HttpMethod.Post,
            $"bindings/{Uri.EscapeDataString(virtualHost)}/e/{Uri.EscapeDataString(exchange)}/q/{Uri.EscapeDataString(queue)}",
            new { routing_key = "", arguments = new { } },
            cancellationToken);

    /// <summary>
    /// Imports a definitions file (users, virtual hosts, permissions, queues, exchanges, bindings), as
    /// <c>rabbitmqctl import_definitions</c> does; what exists already is left as it is or updated.
    /// </summary>
    public Task ImportDefinitionsAsync(System.Text.Json.Nodes.JsonObject definitions, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "definitions", definitions, cancellationToken);

    /// <summary>
    /// Closes every connection the broker user has open on this node, as a network fault or an operator would: the
    /// client sees its connection forced shut mid-work. Returns how many were closed.
    /// </summary>
    public async Task<int> CloseConnectionsAsync(string user, CancellationToken cancellationToken = default)
    {
        var connections = await GetManagementAsync("connections", cancellationToken);
        var names = connections.EnumerateArray()
            .Where(connection => connection.GetProperty("user").GetString() == user)
            .Select(connection => connection.GetProperty("name").GetString()!)
            .ToList();
        foreach (var name in names)
        {
            await SendAsync(HttpMethod.Delete, $"connections/{Uri.EscapeDataString(name)}", null, cancellationToken);
        }
        return names.Count;
    }

    /// <summary>GET on the management API, e.g. <c>queues/%2F</c>; for tests and the benchmark that inspect queues.</summary>
    public async Task<JsonElement> GetManagementAsync(string relativePath, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Get, relativePath);
        using var response = await Http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, relativePath, cancellationToken);
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    private async Task SendAsync(HttpMethod method, string relativePath, object? body, CancellationToken cancellationToken)
    {
        using var request = Request(method, relativePath);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        using var response = await Http.SendAsync(request, cancellationToken);
        if (method == HttpMethod.Delete && response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return;
        }
        await EnsureSuccessAsync(response, relativePath, cancellationToken);
    }

    private HttpRequestMessage Request(HttpMethod method, string relativePath)
    {
        var request = new HttpRequestMessage(method, new Uri(ManagementUrl, "api/" + relativePath));
        // No keep-alive: on stop the management listener waits up to 6 s for idle connections to go away.
        request.Headers.ConnectionClose = true;
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AdminUser}:{AdminPassword}")));
        return request;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string relativePath, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new LocalHubException($"RabbitMQ management API {relativePath}: {(int)response.StatusCode} {text}");
        }
    }
}
