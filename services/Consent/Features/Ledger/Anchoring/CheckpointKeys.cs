using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>
/// The gate's checkpoint keys: ECDSA P-256 (ES256), each known by its kid, the RFC 7638 JWK thumbprint of its public
/// key. The kid follows from the key itself, so nothing has to keep a name and a key in step, and a third party given the
/// public key computes the same kid.
/// </summary>
public static class CheckpointKeys
{
    public static ECDsaSecurityKey LoadPrivate(string pemPath) => Load(pemPath, requirePrivateKey: true);

    public static ECDsaSecurityKey LoadPublic(string pemPath) => Load(pemPath, requirePrivateKey: false);

    public static bool TryLoadPrivate(string? pemPath) => TryLoad(pemPath, requirePrivateKey: true);

    public static bool TryLoadPublic(string? pemPath) => TryLoad(pemPath, requirePrivateKey: false);

    /// <summary>The verification keys by kid: those configured, and the public half of the signing key when it is given.</summary>
    public static IReadOnlyDictionary<string, ECDsaSecurityKey> VerificationKeys(LedgerAnchorOptions options)
    {
        var keys = new Dictionary<string, ECDsaSecurityKey>(StringComparer.Ordinal);
        foreach (var path in options.VerificationKeyPaths.Where(p => !string.IsNullOrWhiteSpace(p)))
        {
            var key = LoadPublic(path);
            keys[key.KeyId] = key;
        }

        if (!string.IsNullOrWhiteSpace(options.SigningKeyPath) && File.Exists(options.SigningKeyPath))
        {
            var signing = LoadPrivate(options.SigningKeyPath);
            keys.TryAdd(signing.KeyId, PublicOnly(signing));
        }

        return keys;
    }

    public static string KidOf(ECDsa key) => Base64UrlEncoder.Encode(new ECDsaSecurityKey(key).ComputeJwkThumbprint());

    private static ECDsaSecurityKey PublicOnly(ECDsaSecurityKey key)
    {
        var ecdsa = ECDsa.Create(key.ECDsa.ExportParameters(includePrivateParameters: false));
        return new ECDsaSecurityKey(ecdsa) { KeyId = key.KeyId };
    }

    private static bool TryLoad(string? pemPath, bool requirePrivateKey)
    {
        if (string.IsNullOrWhiteSpace(pemPath) || !File.Exists(pemPath))
        {
            return false;
        }

        try
        {
            _ = Load(pemPath, requirePrivateKey);
            return true;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static ECDsaSecurityKey Load(string pemPath, bool requirePrivateKey)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(File.ReadAllText(pemPath));

            // ES256 is P-256 by definition.
            if (ecdsa.KeySize != 256)
            {
                throw new InvalidOperationException("A ledger checkpoint key must be an ECDSA P-256 key.");
            }

            if (requirePrivateKey)
            {
                // Throws when the PEM held only a public key, so a misconfigured service fails at start.
                _ = ecdsa.ExportParameters(includePrivateParameters: true);
            }

            return new ECDsaSecurityKey(ecdsa) { KeyId = KidOf(ecdsa) };
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }
}
