namespace FamiljecentralHub.LocalHub;

/// <summary>RabbitMQ permissions of one user on one virtual host: regular expressions over resource names.</summary>
public sealed record BrokerPermission(string Configure, string Write, string Read);

/// <summary>
/// Which broker user may do what. The one place to change: the architecture requires that only the consent
/// gate may write to a receiving operation's queue and that an operation service may only publish submissions
/// and read its own queues. Until the services' queue and exchange names settle, every user has full rights on
/// its own virtual host; tightening this table is all it takes to move to least privilege.
/// </summary>
public static class BrokerPermissions
{
    private static readonly BrokerPermission Everything = new(".*", ".*", ".*");

    public static IReadOnlyDictionary<string, BrokerPermission> ByService { get; } = new Dictionary<string, BrokerPermission>
    {
        ["maternity-care"] = Everything,
        ["child-health"] = Everything,
        ["open-preschool"] = Everything,
        ["social-services"] = Everything,
        ["consent"] = Everything,
        ["ops"] = Everything,
    };

    public static BrokerPermission For(string service) =>
        ByService.TryGetValue(service, out var permission)
            ? permission
            : throw new ArgumentException($"No broker permissions are defined for '{service}'.", nameof(service));
}
