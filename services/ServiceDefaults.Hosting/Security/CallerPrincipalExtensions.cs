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

    /// <summary>
    /// Whether the client system is registered for one of the data controller's accountability duties (<see cref="Duties"/>):
    /// acting for a unit lets a system disclose and receive; reading the log about the unit's disclosures is for the
    /// controller's authorised staff only.
    /// </summary>
    public static bool HasDuty(this ClaimsPrincipal principal, string duty)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return !string.IsNullOrEmpty(duty)
            && principal.HasClaim(claim => claim.Type == CallerTokenDefaults.DutiesClaim
                && string.Equals(claim.Value, duty, StringComparison.Ordinal));
    }

    /// <summary>
    /// Whether the client system holds any of the data controller's duties: such a client asks the ledger for the
    /// controller, and is refused where a system acts in care (recording or changing consents, custody changes).
    /// </summary>
    public static bool HoldsAnyDuty(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.HasClaim(claim => claim.Type == CallerTokenDefaults.DutiesClaim);
    }
}
