using System.Net;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.Gateway.Limits;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.ClientCertificates;

internal static class ClientCertificateExtensions
{
    /// <summary>
    /// The mutual-TLS listener on <c>Gateway:Url</c>, the plain-HTTP health listener on <c>Gateway:HealthUrl</c>, and
    /// certificate authentication (Microsoft.AspNetCore.Authentication.Certificate) of every request: the chain to the
    /// client CA bundle, the clientAuth usage, the validity period, then the CA's revocation list and the registry.
    /// </summary>
    public static WebApplicationBuilder AddClientCertificates(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ClientTrust>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ClientTrust>());
        builder.Services.AddSingleton<IOptionsChangeTokenSource<CertificateAuthenticationOptions>>(services => services.GetRequiredService<ClientTrust>());
        builder.Services.AddSingleton(services =>
        {
            var trust = services.GetRequiredService<ClientTrust>();
            return new ClientRevocations(
                services.GetRequiredService<IOptions<GatewayOptions>>().Value.ClientCrlPath, () => trust.Authorities, services.GetRequiredService<TimeProvider>());
        });

        builder.Services.AddSingleton<ICertificateValidationCache, ChainVerdictCache>();
        builder.Services.AddAuthentication(CertificateAuthenticationDefaults.AuthenticationScheme)
            .AddCertificate(options =>
            {
                // Only a certificate issued by a CA of the bundle: the machine's trust store plays no part, so a
                // certificate from any public CA is as foreign here as a self-signed one.
                options.AllowedCertificateTypes = CertificateTypes.Chained;
                options.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                options.ValidateCertificateUse = true;
                options.ValidateValidityPeriod = true;
                // Revocation is the CA's own list (ClientRevocations), read from a file and checked on every request;
                // the runtime's check would try to reach the network for each certificate.
                options.RevocationMode = X509RevocationMode.NoCheck;
                options.Events = new CertificateAuthenticationEvents
                {
                    OnCertificateValidated = ClientIdentification.RequireClientUsageAsync,
                    OnAuthenticationFailed = ClientIdentification.NotTrustedAsync,
                };
            });
        builder.Services.AddOptions<CertificateAuthenticationOptions>(CertificateAuthenticationDefaults.AuthenticationScheme)
            .Configure<ClientTrust>((options, trust) => options.CustomTrustStore = trust.Authorities);
        // The handler logs the subject of every certificate it refuses or accepts, and a personal certificate presented
        // by mistake names a person; ClientIdentificationMiddleware logs each refusal by its reason instead. Set on the
        // handler's own category, the most specific there is, so no configuration can turn it back on.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Authentication.Certificate.CertificateAuthenticationHandler", LogLevel.None);

        builder.WebHost.ConfigureKestrel((_, kestrel) =>
        {
            // Reading .Value runs the options validators, so a bad configuration stops the gateway here, clearly.
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value;
            var (serverCertificate, serverChain) = LoadServerCertificate(options.ServerCertificatePath!, options.ServerKeyPath!);

            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxRequestBodyBytes;

            var connectionLimits = new ConnectionLimits(options.Limits.MaxConnections, options.Limits.MaxConnectionsPerAddress,
                kestrel.ApplicationServices.GetRequiredService<ILogger<ConnectionLimits>>());
            Listen(kestrel, new Uri(options.Url!), listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                // Before the TLS handshake, so a connection beyond the limits costs no handshake.
                listen.Use(connectionLimits.Middleware);
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = serverCertificate;
                    https.ServerCertificateChain = serverChain;
                    // A certificate is required at the handshake, which proves the client holds its key; whether it is
                    // trusted is decided per request by the certificate handler, so that a change of the CA bundle,
                    // the registry or the revocation list reaches connections already open, and every refusal is
                    // answered and recorded as one.
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.CheckCertificateRevocation = false;
                    https.AllowAnyClientCertificate();
                    // The handshake still builds the client's chain, and by default fetches an issuer it lacks from
                    // the address the certificate names: an unauthenticated client's choice of URL, called from here.
                    https.OnAuthenticate = (_, ssl) => ssl.CertificateChainPolicy = new X509ChainPolicy
                    {
                        DisableCertificateDownloads = true,
                        RevocationMode = X509RevocationMode.NoCheck,
                    };
                });
            });

            Listen(kestrel, new Uri(options.HealthUrl!), listen => listen.Protocols = HttpProtocols.Http1);
        });

        return builder;
    }

    public static IApplicationBuilder UseClientIdentification(this IApplicationBuilder app) =>
        app.UseMiddleware<ClientIdentificationMiddleware>();

    private static void Listen(KestrelServerOptions kestrel, Uri url, Action<ListenOptions> configure)
    {
        if (IPAddress.TryParse(url.Host, out var address))
        {
            kestrel.Listen(address, url.Port, configure);
        }
        else if (string.Equals(url.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(url.Port, configure);
        }
        else
        {
            kestrel.ListenAnyIP(url.Port, configure);
        }
    }

    private static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServerCertificate(string certificatePath, string keyPath)
    {
        using var pemCertificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

        // A certificate whose key was imported from PEM holds an ephemeral key, which SslStream cannot use on
        // every platform; a PKCS#12 round trip gives it a key the TLS stack accepts everywhere.
        var certificate = X509CertificateLoader.LoadPkcs12(pemCertificate.Export(X509ContentType.Pkcs12), password: null);

        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certificatePath);
        var chain = new X509Certificate2Collection();
        foreach (var extra in all.Skip(1))
        {
            chain.Add(extra);
        }

        all[0].Dispose();
        return (certificate, chain);
    }
}
