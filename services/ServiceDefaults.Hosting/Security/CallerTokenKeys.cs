using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.ServiceDefaults.Security;

internal static class CallerTokenKeys
{
    public static ECDsaSecurityKey LoadPrivateKey(string pemPath) => Load(pemPath, requirePrivateKey: true);

    public static ECDsaSecurityKey LoadPublicKey(string pemPath) => Load(pemPath, requirePrivateKey: false);

    public static bool TryLoadPublicKey(string? pemPath) => TryLoad(pemPath, requirePrivateKey: false);

    public static bool TryLoadPrivateKey(string? pemPath) => TryLoad(pemPath, requirePrivateKey: true);

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
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or InvalidOperationException)
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

            // ES256 is P-256 by definition; a key on another curve would sign tokens no service accepts.
            if (ecdsa.KeySize != 256)
            {
                throw new InvalidOperationException("The caller-token key must be an ECDSA P-256 key.");
            }

            if (requirePrivateKey)
            {
                // Throws when the PEM held only a public key, so a misconfigured gateway fails at start.
                _ = ecdsa.ExportParameters(includePrivateParameters: true);
            }

            return new ECDsaSecurityKey(ecdsa);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }
}
