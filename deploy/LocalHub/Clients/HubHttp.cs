using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Clients;

/// <summary>
/// An HttpClient that talks to the gateway as one demo client system would: with that system's TLS client certificate,
/// trusting only the demo CA for the gateway's own certificate.
/// </summary>
public static class HubHttp
{
    public static HttpClient CreateClient(DemoPki pki, string clientId, Uri gatewayUrl, int maxConnections = 64, bool followRedirects = true)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(pki.CaCertificatePath));
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            AllowAutoRedirect = followRedirects,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [pki.LoadClientCertificate(clientId)],
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(certificate));
                },
            },
        };
        return new HttpClient(handler) { BaseAddress = gatewayUrl, Timeout = TimeSpan.FromSeconds(30) };
    }
}
