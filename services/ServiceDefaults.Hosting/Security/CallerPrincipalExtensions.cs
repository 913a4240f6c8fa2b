using System.Security.Claims;

namespace FamiljecentralHub.ServiceDefaults.Security;

public static class CallerPrincipalExtensions
{
    /// <summary>The calling client system's id (the token's <c>sub</c>).</summary>
    /// <exception cref="InvalidOperationException">The principal is not an authenticated caller.</exception>
    public static string ClientId(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var clientId = principal.FindFirst(CallerTokenDefaults.SubjectClaim)?.Value;
        return string.IsNullOrEmpty(clientId)
            ? throw new InvalidOperationException("The principal is not an authenticated caller.")
            : clientId;
    }

    /// <summary>The units the client may act for; empty when it may act for none.</summary>
    public static IReadOnlyList<string> Units(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return [.. principal.FindAll(CallerTokenDefaults.UnitsClaim).Select(claim => claim.Value)];
    }

    public static bool ActsFor(this ClaimsPrincipal principal, string unitId)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return !string.IsNullOrEmpty(unitId)
            && principal.HasClaim(claim => claim.Type == CallerTokenDefaults.UnitsClaim
                && string.Equals(claim.Value, unitId, StringComparison.Ordinal));
    }
}
