using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Tls;

public static class ServiceTlsExtensions
{
    /// <summary>
    /// The service listens on HTTPS only, with its server certificate from the internal CA, and asks every caller for a
    /// client certificate at the handshake. A caller without one still gets a connection (health and metrics are for
    /// probes that have none); every other endpoint refuses it (<see cref="Security.CallerAuthenticationExtensions"/>).
    /// </summary>
    /// <remarks>
    /// Applied where Kestrel is configured, so a missing certificate stops the service there, before it listens; an
    /// in-memory test host (TestServer) has no Kestrel and no TLS, and sets the connection's certificate itself.
    /// </remarks>
    public static WebApplicationBuilder AddServiceTls(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ServiceTlsOptions>().BindConfiguration(ServiceTlsOptions.SectionName);

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<ServiceTlsOptions>>().Value;
            RequireFile("Tls:CertificatePath", options.CertificatePath);
            RequireFile("Tls:KeyPath", options.KeyPath);
            RequireFile("Tls:ClientCaPath", options.ClientCaPath);
            RequireHttpsOnly(context.Configuration[WebHostDefaults.ServerUrlsKey]);

            var certificate = InternalTls.LoadCertificate(options.CertificatePath!, options.KeyPath!);
            kestrel.AddServerHeader = false;
            kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificate = certificate;
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                // Any certificate is taken at the handshake and judged per request by the certificate handler (chain to
                // the internal CA, client use, validity): a wrong one is then a 401 ProblemDetails marked as a refusal,
                // not a dropped connection nobody hears of, and a probe without one still reaches /health.
                https.ClientCertificateValidation = (_, _, _) => true;
                https.CheckCertificateRevocation = false;
                // The handshake builds the caller's chain all the same, and by default fetches an issuer it lacks from
                // the address the certificate names: whoever reaches the port would choose a URL for the service to call.
                https.OnAuthenticate = (_, ssl) => ssl.CertificateChainPolicy = new X509ChainPolicy
                {
                    DisableCertificateDownloads = true,
                    RevocationMode = X509RevocationMode.NoCheck,
                };
            });
        });

        return builder;
    }

    private static void RequireFile(string key, string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
        {
            throw new InvalidOperationException($"{key} must name an existing file: a service listens on HTTPS only.");
        }
    }

    // A plain-HTTP listener would take a caller token from anyone who can reach the port: the hop is TLS or nothing.
    private static void RequireHttpsOnly(string? urls)
    {
        var addresses = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (addresses.Length == 0 || !addresses.All(address => address.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException("A service listens on HTTPS only: ASPNETCORE_URLS must name https:// addresses and nothing else.");
        }
    }
}
