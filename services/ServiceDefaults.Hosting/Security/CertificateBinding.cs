using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// RFC 8705 certificate-bound caller tokens: the gateway names its own client certificate in every token (<c>cnf</c>,
/// <c>x5t#S256</c>), and a service accepts the token only on a connection where that very certificate was presented.
/// A token sniffed or copied off the hop is worth nothing without the gateway's private key.
/// </summary>
public static class CertificateBinding
{
    /// <summary>The base64url SHA-256 of the certificate's DER, as <c>x5t#S256</c> carries it.</summary>
    public static string ThumbprintOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Base64UrlEncoder.Encode(SHA256.HashData(certificate.RawDataMemory.Span));
    }

    /// <summary>
    /// True when the caller's token names <paramref name="presented"/> in <c>cnf.x5t#S256</c>. False without a
    /// certificate, without a <c>cnf</c>, with a malformed one, or with another certificate's thumbprint.
    /// </summary>
    public static bool IsBoundTo(ClaimsPrincipal caller, X509Certificate2? presented)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (presented is null || BoundThumbprint(caller) is not { } bound)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(bound), System.Text.Encoding.ASCII.GetBytes(ThumbprintOf(presented)));
    }

    /// <summary>The <c>x5t#S256</c> the token's <c>cnf</c> names, or null when there is none (or exactly one is not there).</summary>
    public static string? BoundThumbprint(ClaimsPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        // A JSON object claim arrives as its JSON text; two cnf claims would leave it unclear which binds.
        if (caller.FindAll(CallerTokenDefaults.ConfirmationClaim).ToList() is not [var confirmation])
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(confirmation.Value);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty(CallerTokenDefaults.CertificateThumbprintMember, out var thumbprint)
                && thumbprint.ValueKind == JsonValueKind.String
                && thumbprint.GetString() is { Length: 43 } value
                    ? value
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
