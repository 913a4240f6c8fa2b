namespace FamiljecentralHub.ServiceDefaults.Tls;

/// <summary>Bound from the <c>Tls</c> configuration section: a service's side of the gateway → service hop.</summary>
public sealed class ServiceTlsOptions
{
    public const string SectionName = "Tls";

    /// <summary>PEM of the service's server certificate, issued by the internal CA (SAN 127.0.0.1 and localhost).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM (PKCS#8) of its private key, readable by the service alone.</summary>
    public string? KeyPath { get; set; }

    /// <summary>PEM of the internal CA: the only root a caller's client certificate may chain to.</summary>
    public string? ClientCaPath { get; set; }
}
