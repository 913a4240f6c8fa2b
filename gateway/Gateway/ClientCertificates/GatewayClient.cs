using System.Collections.Frozen;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>A registered client system: who it is, how its certificate names it, which units it acts for, which routes it may call.</summary>
internal sealed record GatewayClient(
    string Id,
    string HsaId,
    string Issuer,
    IReadOnlyList<string> Units,
    FrozenSet<string> Routes)
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
