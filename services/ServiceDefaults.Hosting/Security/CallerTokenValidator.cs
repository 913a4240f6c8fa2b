using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>Validates a caller token for one audience (the service's own name).</summary>
public sealed class CallerTokenValidator
{
    private readonly JsonWebTokenHandler handler = new();
    private readonly TokenValidationParameters parameters;

    /// <param name="publicKeyPemPath">SubjectPublicKeyInfo PEM of the gateway's ECDSA P-256 token key.</param>
    /// <param name="audience">The service name the token must be addressed to.</param>
    public CallerTokenValidator(string publicKeyPemPath, string audience)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyPemPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        parameters = new TokenValidationParameters
        {
            ValidIssuer = CallerTokenDefaults.Issuer,
            ValidAudience = audience,
            IssuerSigningKey = CallerTokenKeys.LoadPublicKey(publicKeyPemPath),
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
