using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub;

/// <summary>A login on the broker for one service.</summary>
public sealed record BrokerAccount(string User, string Password)
{
    public override string ToString() => User;
}

/// <summary>
/// The broker set-up of one hub, applied through the management API as the administrator before any service starts:
/// each service's user with its permissions (<see cref="BrokerPermissions"/>) and its topic permission on the lifecycle
/// events (<see cref="StatusRoutes"/>), and the boundary the deployment owns
/// (<see cref="Queues.DeploymentBindings"/>). The same as the definitions file <see cref="BrokerDefinitions"/> writes
/// for a deployment without LocalHub, but with each user's password (BrokerDefinitionsTests compares the two).
/// </summary>
internal static class BrokerProvisioning
{
    /// <summary>
    /// A new account with a fresh password for every service, by the service's name; on a shared node each user name
    /// starts with <paramref name="userPrefix"/>, so hubs never share a login.
    /// </summary>
    public static Dictionary<string, BrokerAccount> NewAccounts(string userPrefix)
    {
        var accounts = HubService.All.ToDictionary(service => service.Name, service => new BrokerAccount(userPrefix + service.Name, UnixFiles.NewPassword()));
        accounts[BrokerPermissions.MonitoringUser] = new BrokerAccount(userPrefix + BrokerPermissions.MonitoringUser, UnixFiles.NewPassword());
        return accounts;
    }

    /// <param name="accounts">The broker account of every service, by the service's name, and Ops's monitoring account (<see cref="BrokerPermissions.MonitoringUser"/>).</param>
    public static async Task ApplyAsync(
        RabbitMqNode rabbit, string virtualHost, IReadOnlyDictionary<string, BrokerAccount> accounts, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Catalogue.Services.Select(async service =>
        {
            var account = accounts[service.Name];
            await rabbit.CreateUserAsync(account.User, account.Password, cancellationToken);
            await rabbit.SetPermissionsAsync(virtualHost, account.User, BrokerPermissions.For(service.Name), cancellationToken);
            await rabbit.SetTopicPermissionAsync(virtualHost, account.User, StatusRoutes.PermissionOf(service), cancellationToken);
        }));
        if (accounts.TryGetValue(BrokerPermissions.MonitoringUser, out var monitoring))
        {
            await rabbit.CreateUserAsync(monitoring.User, monitoring.Password, cancellationToken, BrokerPermissions.MonitoringTag);
            await rabbit.SetPermissionsAsync(virtualHost, monitoring.User, BrokerPermissions.Monitoring, cancellationToken);
        }
        await DeclareBoundaryAsync(rabbit, virtualHost, cancellationToken);
    }

    /// <summary>
    /// The gate's queue, the delivery queues and the only exchanges into them, declared as the administrator: under least
    /// privilege no service may bind them (docs/broker-permissions.md); with the ways back out of every error queue, which
    /// no service may declare, delete or bind either (docs/error-queues.md). Idempotent, so a restarted hub on kept node
    /// data declares the same again.
    /// </summary>
    private static async Task DeclareBoundaryAsync(RabbitMqNode rabbit, string virtualHost, CancellationToken cancellationToken)
    {
        var bindings = Queues.DeploymentBindings;
        await Task.WhenAll(bindings.Select(binding => binding.Queue).Distinct()
            .Select(queue => rabbit.DeclareQuorumQueueAsync(virtualHost, queue, cancellationToken)));
        await Task.WhenAll(bindings.Select(async binding =>
        {
            await rabbit.DeclareFanoutExchangeAsync(virtualHost, binding.Exchange, cancellationToken);
            await rabbit.BindQueueAsync(virtualHost, binding.Exchange, binding.Queue, cancellationToken);
        }));
    }
}
