using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// Validates a caller token for one audience (the service's own name). The token's <c>kid</c> names the key it was
/// signed with, among those in the public key file; the file is read again when it changes, so the gateway's key
/// rotates without a restart: add the new public key to the file, give the gateway the new private key, and remove the
/// old public key once the last token it signed has expired (docs/security.md, "Keys").
/// </summary>
public sealed class CallerTokenValidator
{
    private readonly JsonWebTokenHandler handler = new();
    private readonly TokenValidationParameters parameters;

    /// <param name="publicKeyPemPath">SubjectPublicKeyInfo PEM of the gateway's ECDSA P-256 token key, or several one after the other.</param>
    /// <param name="audience">The service name the token must be addressed to.</param>
    /// <param name="keyRefresh">How often at most the key file is looked at for a change; a second by default.</param>
    public CallerTokenValidator(string publicKeyPemPath, string audience, TimeSpan? keyRefresh = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyPemPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        var keys = new RereadKeyFile<IReadOnlyList<ECDsaSecurityKey>>(publicKeyPemPath, CallerTokenKeys.LoadPublicKeys, keyRefresh ?? TimeSpan.FromSeconds(1));
        parameters = new TokenValidationParameters
        {
            ValidIssuer = CallerTokenDefaults.Issuer,
            ValidAudience = audience,
            // Only the key the token names: a token without a kid, or naming a key not (or no longer) in the file, is refused.
            IssuerSigningKeyResolver = (_, _, kid, _) => keys.Current.Where(key => kid is not null && key.KeyId == kid),
            TryAllIssuerSigningKeys = false,
            // Pinning the algorithm shuts out "alg: none" and any algorithm-confusion trick.
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = CallerTokenDefaults.ClockSkew,
            NameClaimType = CallerTokenDefaults.SubjectClaim,
            AuthenticationType = CallerTokenDefaults.AuthenticationScheme,
        };
    }

    public string Audience => parameters.ValidAudience;

    /// <summary>What the services' JwtBearer scheme validates with: the same key resolver, pinned ES256 and audience.</summary>
    internal TokenValidationParameters Parameters => parameters;

    /// <summary>
    /// Returns the caller, or null with a reason that is safe to log (an exception type name, never token content).
    /// </summary>
    public async Task<CallerTokenValidationResult> ValidateAsync(string token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return CallerTokenValidationResult.Failed("MissingToken");
        }

        var result = await handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return CallerTokenValidationResult.Failed(result.Exception?.GetType().Name ?? "InvalidToken");
        }

        var identity = result.ClaimsIdentity;
        if (string.IsNullOrEmpty(identity.FindFirst(CallerTokenDefaults.SubjectClaim)?.Value))
        {
            return CallerTokenValidationResult.Failed("MissingSubject");
        }

        return CallerTokenValidationResult.Succeeded(new ClaimsPrincipal(identity));
    }
}

public sealed record CallerTokenValidationResult
{
    private CallerTokenValidationResult(ClaimsPrincipal? principal, string? failureReason)
    {
        Principal = principal;
        FailureReason = failureReason;
    }

    public ClaimsPrincipal? Principal { get; }

    /// <summary>A short code, safe for logs: it never carries token content.</summary>
    public string? FailureReason { get; }

    public bool IsValid => Principal is not null;

    internal static CallerTokenValidationResult Succeeded(ClaimsPrincipal principal) => new(principal, null);

    internal static CallerTokenValidationResult Failed(string reason) => new(null, reason);
}
