using FamiljecentralHub.Topology;

namespace FamiljecentralHub.Gateway.Configuration;

/// <summary>
/// The address of each service behind the gateway, from <c>Services:&lt;name&gt;</c>: one URL, or several separated by
/// commas when the service runs as several instances.
/// </summary>
internal sealed class ServiceAddressOptions
{
    public const string SectionName = "Services";

    /// <summary>The routes the gateway serves; each is also the service name and the caller token's audience.</summary>
    public static IReadOnlyList<string> ServiceNames => Catalogue.Names;

    public Dictionary<string, string?> Addresses { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<Uri> AddressesOf(string serviceName) => Split(Addresses[serviceName]).Select(address => new Uri(address, UriKind.Absolute)).ToList();

    public static string[] Split(string? addresses) =>
        (addresses ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
