using System.Text.Json;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.Topology;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// The definitions file a deployment imports (<see cref="BrokerDefinitions"/>) against a real broker: it imports, and it
/// leaves the broker as LocalHub's own provisioning does, side by side in two virtual hosts of one node.
/// </summary>
[Collection(PrivateNodesCollection.Name)]
public sealed class BrokerDefinitionsTests(PrivateNodesFixture nodes)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Import_TheDefinitionsFile_LeavesTheBrokerAsLocalHubProvisionsIt()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var (provisioned, imported) = ($"provisioned-{id}", $"imported-{id}");
        string ProvisionedUser(string service) => $"p{id}-{service}";
        string ImportedUser(string service) => $"i{id}-{service}";
        var rabbit = nodes.Rabbit;
        try
        {
            await rabbit.CreateVirtualHostAsync(provisioned, Cancellation);
            var accounts = Catalogue.Names.ToDictionary(service => service, service => new BrokerAccount(ProvisionedUser(service), UnixFiles.NewPassword()));
            accounts[BrokerPermissions.MonitoringUser] = new BrokerAccount(ProvisionedUser(BrokerPermissions.MonitoringUser), UnixFiles.NewPassword());
            await BrokerProvisioning.ApplyAsync(rabbit, provisioned, accounts, Cancellation);

            await rabbit.ImportDefinitionsAsync(BrokerDefinitions.For(imported, ImportedUser), Cancellation);

            foreach (var service in Catalogue.Names)
            {
                var permission = await PermissionAsync(imported, ImportedUser(service));
                permission.ShouldBe(await PermissionAsync(provisioned, ProvisionedUser(service)), service);
                permission.ShouldBe(BrokerPermissions.For(service), service);
                var topics = await TopicPermissionsAsync(imported, ImportedUser(service));
                topics.ShouldBe(await TopicPermissionsAsync(provisioned, ProvisionedUser(service)), service);
                topics.ShouldBe([StatusRoutes.PermissionOf(Catalogue.Named(service))], service);
            }

            // Ops's monitoring user: the monitoring tag, and a login on the host that reaches no resource.
            var monitoring = await PermissionAsync(imported, ImportedUser(BrokerPermissions.MonitoringUser));
            monitoring.ShouldBe(await PermissionAsync(provisioned, ProvisionedUser(BrokerPermissions.MonitoringUser)));
            monitoring.ShouldBe(new BrokerPermission("", "", ""));
            foreach (var user in (string[])[ImportedUser(BrokerPermissions.MonitoringUser), ProvisionedUser(BrokerPermissions.MonitoringUser)])
            {
                var tags = (await rabbit.GetManagementAsync($"users/{Uri.EscapeDataString(user)}", Cancellation)).GetProperty("tags");
                (tags.ValueKind == JsonValueKind.Array ? [.. tags.EnumerateArray().Select(t => t.GetString()!)] : tags.GetString()!.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    .ShouldBe([BrokerPermissions.MonitoringTag], user);
            }

            var queues = await ListAsync($"queues/{Uri.EscapeDataString(imported)}", q => $"{q.GetProperty("name")} durable={q.GetProperty("durable")} type={QueueType(q)}");
            queues.ShouldBe(await ListAsync($"queues/{Uri.EscapeDataString(provisioned)}", q => $"{q.GetProperty("name")} durable={q.GetProperty("durable")} type={QueueType(q)}"));
            queues.ShouldBe([.. Queues.DeploymentBindings.Select(binding => $"{binding.Queue} durable=True type=quorum").Distinct().Order(StringComparer.Ordinal)]);
            (await ListAsync($"exchanges/{Uri.EscapeDataString(imported)}", Exchange))
                .ShouldBe(await ListAsync($"exchanges/{Uri.EscapeDataString(provisioned)}", Exchange));
            var bindings = await ListAsync($"bindings/{Uri.EscapeDataString(imported)}", Binding);
            bindings.ShouldBe(await ListAsync($"bindings/{Uri.EscapeDataString(provisioned)}", Binding));
            bindings.ShouldContain($"{Queues.SubmissionExchangeOf(Catalogue.ServiceFor(OperationType.ChildHealth).Name)} -> queue {Queues.Gate} ''");
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(provisioned, Cancellation);
            await rabbit.DeleteVirtualHostAsync(imported, Cancellation);
            foreach (var service in Catalogue.Names.Append(BrokerPermissions.MonitoringUser))
            {
                await rabbit.DeleteUserAsync(ProvisionedUser(service), Cancellation);
                await rabbit.DeleteUserAsync(ImportedUser(service), Cancellation);
            }
        }
    }

    /// <summary>The file holds no secret: its users cannot log in until the deployment sets their passwords.</summary>
    [Fact]
    public async Task Import_UsersWithoutPasswords_CannotLogInUntilAPasswordIsSet()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var virtualHost = $"imported-{id}";
        var user = $"i{id}-{Catalogue.ChildHealth.Name}";
        var rabbit = nodes.Rabbit;
        try
        {
            await rabbit.ImportDefinitionsAsync(BrokerDefinitions.For(virtualHost, service => $"i{id}-{service}"), Cancellation);

            foreach (var guess in new[] { "", user, "guest" })
            {
                var refused = await Should.ThrowAsync<Exception>(() => RabbitMqNodeTests.ConnectAsync(rabbit, user, guess, virtualHost));
                (refused is AuthenticationFailureException || refused.InnerException is AuthenticationFailureException).ShouldBeTrue(refused.ToString());
            }

            var password = UnixFiles.NewPassword();
            await rabbit.CreateUserAsync(user, password, Cancellation); // as rabbitmqctl change_password does
            await using var connection = await RabbitMqNodeTests.ConnectAsync(rabbit, user, password, virtualHost);
            connection.IsOpen.ShouldBeTrue();
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(virtualHost, Cancellation);
            foreach (var service in Catalogue.Names)
            {
                await rabbit.DeleteUserAsync($"i{id}-{service}", Cancellation);
            }
        }
    }

    [Fact]
    public void Catalogue_EveryOperation_IsHostedByExactlyOneService()
    {
        foreach (var operation in Enum.GetValues<OperationType>())
        {
            Catalogue.Services.Count(service => service.Hosts(operation)).ShouldBe(1, operation.ToString());
        }

        Catalogue.Names.ShouldBeUnique();
    }

    private async Task<BrokerPermission> PermissionAsync(string virtualHost, string user)
    {
        var permission = await nodes.Rabbit.GetManagementAsync($"permissions/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(user)}", Cancellation);
        return new BrokerPermission(
            permission.GetProperty("configure").GetString()!, permission.GetProperty("write").GetString()!, permission.GetProperty("read").GetString()!);
    }

    private async Task<List<TopicPermission>> TopicPermissionsAsync(string virtualHost, string user) =>
        [.. (await nodes.Rabbit.GetManagementAsync($"topic-permissions/{Uri.EscapeDataString(virtualHost)}/{Uri.EscapeDataString(user)}", Cancellation))
            .EnumerateArray()
            .Select(p => new TopicPermission(p.GetProperty("exchange").GetString()!, p.GetProperty("write").GetString()!, p.GetProperty("read").GetString()!))];

    private async Task<List<string>> ListAsync(string path, Func<JsonElement, string> describe) =>
        [.. (await nodes.Rabbit.GetManagementAsync(path, Cancellation)).EnumerateArray().Select(describe).Order(StringComparer.Ordinal)];

    private static string QueueType(JsonElement queue) =>
        queue.GetProperty("arguments").TryGetProperty("x-queue-type", out var type) ? type.GetString()! : "classic";

    private static string Exchange(JsonElement exchange) =>
        $"{exchange.GetProperty("name")} {exchange.GetProperty("type")} durable={exchange.GetProperty("durable")} internal={exchange.GetProperty("internal")}";

    private static string Binding(JsonElement binding) =>
        $"{binding.GetProperty("source")} -> {binding.GetProperty("destination_type")} {binding.GetProperty("destination")} '{binding.GetProperty("routing_key")}'";
}
