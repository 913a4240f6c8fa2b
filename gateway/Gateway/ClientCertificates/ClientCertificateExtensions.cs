using System.Net;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.ClientCertificates;

internal static class ClientCertificateExtensions
{
    /// <summary>
    /// The mutual-TLS listener on <c>Gateway:Url</c> and the plain-HTTP health listener on <c>Gateway:HealthUrl</c>.
    /// </summary>
    public static WebApplicationBuilder AddClientCertificates(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(services =>
            new ClientCertificateValidator(services.GetRequiredService<IOptions<GatewayOptions>>().Value.ClientCaPath!));
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(options.ClientCaPath!);
            return new ClientRevocations(options.ClientCrlPath, authorities, services.GetRequiredService<TimeProvider>());
        });
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
            using var ca = X509CertificateLoader.LoadCertificateFromFile(options.ClientCaPath!);
            return ClientRegistry.Load(options.ClientsPath!, ca.SubjectName);
        });

        builder.WebHost.ConfigureKestrel((_, kestrel) =>
        {
            // Reading .Value runs the options validators, so a bad configuration stops the gateway here, clearly.
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value;
            var validator = kestrel.ApplicationServices.GetRequiredService<ClientCertificateValidator>();
            var refusals = kestrel.ApplicationServices.GetRequiredService<AccessRefusalRecorder>();
            var revocations = kestrel.ApplicationServices.GetRequiredService<ClientRevocations>();
            var (serverCertificate, serverChain) = LoadServerCertificate(options.ServerCertificatePath!, options.ServerKeyPath!);

            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxRequestBodyBytes;

            Listen(kestrel, new Uri(options.Url!), listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = serverCertificate;
                    https.ServerCertificateChain = serverChain;
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    // Revocation is checked against the CA's own list (ClientRevocations), here and on every request;
                    // the runtime's check would try to reach the network during every handshake.
                    https.CheckCertificateRevocation = false;
                    https.ClientCertificateValidation = (certificate, _, _) =>
                    {
                        if (!validator.IsTrusted(certificate))
                        {
                            // Unknown CA, expired, not yet valid, or not for client authentication.
                            refusals.RecordHandshake(certificate, "certificate-not-trusted");
                            return false;
                        }

                        if (revocations.Check(certificate) is not RevocationStatus.Good and var status)
                        {
                            refusals.RecordHandshake(certificate, status == RevocationStatus.Revoked ? "certificate-revoked" : "revocation-unknown");
                            return false;
                        }

                        return true;
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
