using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// The handler the supervisor probes readiness with: over https it trusts a server certificate only from the given CA
/// (the internal CA, which is in no system store), and never from the machine's store; plain http as it is.
/// </summary>
internal static class HealthProbe
{
    public static SocketsHttpHandler Handler(string? trustedCaPath)
    {
        var handler = new SocketsHttpHandler();
        if (trustedCaPath is null)
        {
            return handler;
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None || certificate is not X509Certificate2 server)
            {
                return false;
            }

            // Read at each new connection: a CA made afresh by DemoPki.Ensure is picked up without a restart.
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(trustedCaPath);
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.DisableCertificateDownloads = true;
            var trusted = chain.Build(server);
            foreach (var authority in authorities)
            {
                authority.Dispose();
            }

            return trusted;
        };
        return handler;
    }
}
