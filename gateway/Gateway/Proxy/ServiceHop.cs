using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.ServiceDefaults.Tls;
using Yarp.ReverseProxy.Forwarder;

namespace FamiljecentralHub.Gateway.Proxy;

/// <summary>Bound from the <c>ServiceHop</c> configuration section: the gateway's side of the gateway → service hop.</summary>
internal sealed class ServiceHopOptions
{
    public const string SectionName = "ServiceHop";

    /// <summary>PEM of the internal CA: the only issuer of service certificates the gateway trusts.</summary>
    public string? CaPath { get; set; }

    /// <summary>PEM of the gateway's client certificate from the internal CA, its identity towards every service.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>PEM (PKCS#8) of that certificate's private key, readable by the gateway alone.</summary>
    public string? ClientKeyPath { get; set; }

    public static bool IsComplete(ServiceHopOptions options) =>
        new[] { options.CaPath, options.ClientCertificatePath, options.ClientKeyPath }.All(path => !string.IsNullOrWhiteSpace(path) && File.Exists(path));
}

/// <summary>
/// Every call the gateway makes to a service (forwarded requests, YARP's health probes, the refusal records it hands Ops)
/// goes over mutual TLS: the service proves itself with a certificate from the internal CA, the gateway with its own
/// client certificate, which every caller token it issues is bound to.
/// </summary>
internal sealed class ServiceHop(ServiceHopOptions options)
{
    public X509Certificate2 ClientCertificate { get; } = InternalTls.LoadCertificate(options.ClientCertificatePath!, options.ClientKeyPath!);

    public X509Certificate2Collection Authorities { get; } = InternalTls.LoadAuthorities(options.CaPath!);

    public void Configure(SocketsHttpHandler handler) => InternalTls.Configure(handler, Authorities, ClientCertificate);

    public SocketsHttpHandler CreateHandler() => InternalTls.CreateHandler(Authorities, ClientCertificate);
}

/// <summary>YARP's client for every cluster (and its active health probes), presenting the gateway's certificate.</summary>
internal sealed class ServiceHopHttpClientFactory(ServiceHop hop, ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        hop.Configure(handler);
    }
}
