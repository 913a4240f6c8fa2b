using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Clients;

/// <summary>
/// An HttpClient that talks to the gateway as one demo client system would: with that system's TLS client certificate,
/// trusting only the demo CA for the gateway's own certificate. HTTP/1.1 unless <c>http2</c>: then HTTP/2 where the
/// gateway offers it (it does), several requests at once on each connection.
/// </summary>
public static class HubHttp
{
    public static HttpClient CreateClient(DemoPki pki, string clientId, Uri gatewayUrl, int maxConnections = 64, bool followRedirects = true, bool http2 = false)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(pki.CaCertificatePath));
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            AllowAutoRedirect = followRedirects,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            EnableMultipleHttp2Connections = true,
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
        var client = new HttpClient(handler) { BaseAddress = gatewayUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (http2)
        {
            client.DefaultRequestVersion = HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        return client;
    }
}
