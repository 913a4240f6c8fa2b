using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FamiljecentralHub.ServiceDefaults.Tls;

/// <summary>
/// The hub's internal CA, which issues the services' server certificates and the gateway's client certificate and
/// nothing else: the one root trusted on the gateway → service hop, in both directions. It is not the client CA the
/// gateway trusts for client systems, so no client system's certificate opens a service port.
/// </summary>
public static class InternalTls
{
    public const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>A certificate and its private key from PEM files, in a form the TLS stack accepts on every platform.</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath, string keyPath)
    {
        using var fromPem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        // A key imported from PEM is ephemeral, which SslStream cannot use on every platform; a PKCS#12 round trip
        // gives the certificate a key the TLS stack accepts everywhere.
        return X509CertificateLoader.LoadPkcs12(fromPem.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>The CA certificate(s) in a PEM file.</summary>
    public static X509Certificate2Collection LoadAuthorities(string caPath)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(caPath);
        return authorities.Count > 0 ? authorities : throw new CryptographicException($"No certificate in {Path.GetFileName(caPath)}.");
    }

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to one of <paramref name="authorities"/> (and to nothing else: the
    /// machine's store plays no part), is valid now and may be used for <paramref name="usageOid"/>. No revocation check:
    /// the internal CA publishes no list (docs/security.md, "Keys").
    /// </summary>
    public static bool IsIssuedBy(X509Certificate2 certificate, X509Certificate2Collection authorities, string usageOid)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usageOid));
        try
        {
            return chain.Build(certificate);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    /// <summary>
    /// A handler for calls to a service: HTTPS only, the service's server certificate trusted only when the internal CA
    /// issued it for a loopback or named host (the usual name check applies), and <paramref name="clientCertificate"/>
    /// presented when given (the gateway's; a health probe needs none).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(X509Certificate2Collection authorities, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        Configure(handler, authorities, clientCertificate);
        return handler;
    }

    /// <summary>As <see cref="CreateHandler"/>, on a handler someone else made (YARP's).</summary>
    public static void Configure(SocketsHttpHandler handler, X509Certificate2Collection authorities, X509Certificate2? clientCertificate)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(authorities);
        handler.SslOptions.ClientCertificates = clientCertificate is null ? null : [clientCertificate];
        // Offered whatever CAs the service names in its request: the service, not the caller, decides.
        handler.SslOptions.LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate;
        // The service's certificate is judged by IsIssuedBy, offline; the runtime's own chain (for the errors below)
        // must not fetch an issuer the certificate names either.
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy { DisableCertificateDownloads = true, RevocationMode = X509RevocationMode.NoCheck };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            // The chain error is expected (the internal CA is in no system store); a name mismatch is not.
            (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
            && certificate is X509Certificate2 server
            && IsIssuedBy(server, authorities, ServerAuthenticationOid);
    }
}
