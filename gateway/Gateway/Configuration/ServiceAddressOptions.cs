using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Gateway.Configuration;

/// <summary>The address of each service behind the gateway, from <c>Services:&lt;name&gt;</c>.</summary>
internal sealed class ServiceAddressOptions
{
    public const string SectionName = "Services";

    /// <summary>The routes the gateway serves; each is also the service name and the caller token's audience.</summary>
    public static IReadOnlyList<string> ServiceNames => CallerTokenDefaults.Audiences;

    public Dictionary<string, string?> Addresses { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Uri AddressOf(string serviceName) => new(Addresses[serviceName]!, UriKind.Absolute);
}
