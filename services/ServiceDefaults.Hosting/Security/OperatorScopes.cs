using System.Security.Claims;
using System.Text.RegularExpressions;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// Whose messages an operations client's operators watch (issue 13, "scoped per principal"): the clients file names a
/// principal (a region, a municipality, a private provider) or <see cref="Hub"/>; the gateway carries it in the caller
/// token's <see cref="CallerTokenDefaults.OperatesClaim"/>. A principal's operators see only messages that one of its
/// units sends or receives; the hub's operators see all.
/// </summary>
public static partial class OperatorScopes
{
    /// <summary>The hub's own operations staff: every principal's messages.</summary>
    public const string Hub = "hub";

    /// <summary>The shape of a principal id in the organisation file: which principal it is, the service resolves.</summary>
    public static bool IsWellFormed(string operates) => PrincipalId().IsMatch(operates);

    /// <summary>The caller's scope as the token states it; null for a caller that is no operations client.</summary>
    public static string? Operates(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.FindFirst(CallerTokenDefaults.OperatesClaim)?.Value is { } operates && IsWellFormed(operates) ? operates : null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex PrincipalId();
}
