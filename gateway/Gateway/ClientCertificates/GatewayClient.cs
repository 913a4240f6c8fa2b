using System.Collections.Frozen;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// A registered client system: who it is, how its certificate names it, which units it acts for, which routes it may
/// call, which of the data controller's accountability duties its staff hold (<see cref="ServiceDefaults.Security.Duties"/>),
/// and, for an operations client, whose messages its operators watch: a principal's id, or <c>hub</c> for all.
/// </summary>
internal sealed record GatewayClient(
    string Id,
    string HsaId,
    string Issuer,
    IReadOnlyList<string> Units,
    FrozenSet<string> Routes,
    IReadOnlyList<string>? Duties = null,
    string? Operates = null)
{
    public bool MayUse(string route) => Routes.Contains(route);
}

/// <summary>The client identified for the current request, set once its certificate has been mapped.</summary>
internal sealed record GatewayClientFeature(GatewayClient Client);

internal static class GatewayClientHttpContextExtensions
{
    public static GatewayClient? GetGatewayClient(this HttpContext context) =>
        context.Features.Get<GatewayClientFeature>()?.Client;
}
