using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// Decides, during the TLS handshake, whether a client certificate chains to the configured CA. The machine's
/// trust store plays no part: a certificate from any public CA is as foreign here as a self-signed one.
/// </summary>
internal sealed class ClientCertificateValidator
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private readonly X509ChainPolicy policy;

    public ClientCertificateValidator(string caPemPath)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(caPemPath);
        if (authorities.Count == 0)
        {
            throw new InvalidOperationException("Gateway:ClientCaPath holds no certificate.");
        }

        policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // The demo CA publishes no revocation lists. SITHS does: production must turn checking on.
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
            VerificationFlags = X509VerificationFlags.NoFlag,
        };
        policy.CustomTrustStore.AddRange(authorities);
        policy.ApplicationPolicy.Add(ClientAuthentication);
    }

    public bool IsTrusted(X509Certificate2? certificate)
    {
        if (certificate is null || !HasClientAuthenticationUsage(certificate))
        {
            return false;
        }

        var chainPolicy = policy.Clone();
        // A cloned policy keeps the time it was created at; validity must be judged now.
        chainPolicy.VerificationTime = DateTime.Now;
        using var chain = new X509Chain { ChainPolicy = chainPolicy };
        try
        {
            return chain.Build(certificate);
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    // A certificate without any EKU extension is valid for every purpose as far as chain building is concerned;
    // we demand the explicit clientAuth usage so a server or CA certificate can never pose as a client.
    private static bool HasClientAuthenticationUsage(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .Any(extension => extension.EnhancedKeyUsages.Cast<Oid>().Any(oid => oid.Value == ClientAuthentication.Value));
}
