using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub.Pki;

/// <summary>
/// The demo PKI of a local hub: a CA, the gateway's TLS certificate, one client certificate per client system and
/// the caller-token key pair and the gate's ledger-signing key pair, all ECDSA P-256, as PEM files that both .NET and curl/OpenSSL read.
/// Beside it the hub's internal CA (in <c>internal/</c>), for the gateway → service hop alone: a server certificate
/// per service and the gateway's client certificate towards them. Client systems never see it, and the client CA
/// opens no service port.
/// </summary>
/// <remarks>
/// <see cref="Ensure"/> is idempotent: files that exist and are still valid are reused, so a second run keeps the
/// certificates a developer has already handed to curl or a client. A new CA re-issues every certificate under it.
/// </remarks>
public sealed class DemoPki
{
    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The subject attribute serialNumber (X.520), where SITHS puts a system's HSA id.</summary>
    private const string SerialNumberOid = "2.5.4.5";
    private const UnixFileMode Readable = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(5 * 365);
    private static readonly TimeSpan LeafLifetime = TimeSpan.FromDays(365);

    // Renewed this long before expiry, so a hub started today still works for a demo next week.
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(14);

    // Tolerates a little clock skew between the machine that issues and the one that validates.
    private static readonly TimeSpan BackdateBy = TimeSpan.FromMinutes(5);

    private DemoPki(string folder) => Folder = Path.GetFullPath(folder);

    public string Folder { get; }

    public string CaCertificatePath => Path.Combine(Folder, "ca.pem");

    public string CaKeyPath => Path.Combine(Folder, "ca.key");

    public string GatewayCertificatePath => Path.Combine(Folder, "gateway.pem");

    public string GatewayKeyPath => Path.Combine(Folder, "gateway.key");

    /// <summary>The CA's certificate revocation list (PEM), which the gateway checks every client against.</summary>
    public string CrlPath => Path.Combine(Folder, "ca.crl.pem");

    public string CallerTokenPrivateKeyPath => Path.Combine(Folder, "caller-token.key");

    public string CallerTokenPublicKeyPath => Path.Combine(Folder, "caller-token.pub.pem");

    /// <summary>The gate's key for ledger checkpoints (owner-only); only the consent service is given it.</summary>
    public string LedgerSigningPrivateKeyPath => Path.Combine(Folder, "ledger-signing.key");

    /// <summary>Its public half, all that verifying checkpoints needs.</summary>
    public string LedgerSigningPublicKeyPath => Path.Combine(Folder, "ledger-signing.pub.pem");

    /// <summary>The internal CA: issues the services' server certificates and the gateway's hop certificate, nothing else.</summary>
    public string InternalCaCertificatePath => Path.Combine(Folder, "internal", "ca.pem");

    public string InternalCaKeyPath => Path.Combine(Folder, "internal", "ca.key");

    /// <summary>The gateway's client certificate towards the services; every caller token is bound to it.</summary>
    public string GatewayHopCertificatePath => Path.Combine(Folder, "internal", "gateway-hop.pem");

    public string GatewayHopKeyPath => Path.Combine(Folder, "internal", "gateway-hop.key");

    /// <summary>A service's server certificate (SAN 127.0.0.1, ::1 and localhost), one for all its instances.</summary>
    public string ServiceCertificatePath(string service) => Path.Combine(Folder, "internal", RequireService(service) + ".pem");

    public string ServiceKeyPath(string service) => Path.Combine(Folder, "internal", RequireService(service) + ".key");

    public string ClientCertificatePath(string clientId) => ClientFile(Folder, clientId, ".pem");

    public string ClientKeyPath(string clientId) => ClientFile(Folder, clientId, ".key");

    /// <summary>PKCS#12 without a password, for .NET clients.</summary>
    public string ClientPfxPath(string clientId) => ClientFile(Folder, clientId, ".pfx");

    /// <summary>
    /// The demo HSA id of a client system, as its certificate's subject serialNumber carries it (SITHS function
    /// certificates name their system so): the demo organisation number, a hyphen, the id's letters and digits.
    /// deploy/demo/clients.json registers each client under it.
    /// </summary>
    public static string HsaIdOf(string clientId)
    {
        RequireSafeId(clientId);
        var suffix = new string([.. clientId.Where(char.IsAsciiLetterOrDigit).Select(char.ToUpperInvariant)]);
        return $"SE2321000016-{suffix[..Math.Min(suffix.Length, 31)]}";
    }

    /// <summary>Creates whatever is missing or no longer valid in <paramref name="folder"/>, reusing the rest.</summary>
    /// <param name="clientIds">Client system ids; each becomes the CN of its client certificate, its <see cref="HsaIdOf"/> the serialNumber.</param>
    public static DemoPki Ensure(string folder, IEnumerable<string> clientIds)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(clientIds);

        var ids = clientIds.Distinct(StringComparer.Ordinal).ToList();
        ids.ForEach(RequireSafeId);

        var pki = new DemoPki(folder);
        Directory.CreateDirectory(pki.Folder);
        Directory.CreateDirectory(Path.Combine(pki.Folder, "clients"));

        var now = DateTimeOffset.UtcNow;
        EnsureInternal(pki, now);
        var ca = TryLoadCa(pki.CaCertificatePath, pki.CaKeyPath, now);
        var caIsNew = ca is null;
        ca ??= CreateCa(pki.CaCertificatePath, pki.CaKeyPath, "FamiljecentralHub Demo CA", now);
        using (ca)
        {
            if (caIsNew || !IsValidLeaf(pki.GatewayCertificatePath, pki.GatewayKeyPath, ca, ServerAuthenticationOid, "localhost", now))
            {
                IssueGatewayCertificate(pki, ca, now);
            }

            // A new CA starts a new list; a kept one keeps its revocations, published again before it falls due.
            if (caIsNew || NeedsReissue(pki.CrlPath, now))
            {
                WriteCrl(pki, ca, caIsNew ? null : Revoked(pki.CrlPath), now);
            }

            foreach (var id in ids)
            {
                if (caIsNew
                    || !IsValidLeaf(pki.ClientCertificatePath(id), pki.ClientKeyPath(id), ca, ClientAuthenticationOid, id, now, HsaIdOf(id))
                    || !IsValidPfx(pki.ClientPfxPath(id), pki.ClientCertificatePath(id)))
                {
                    IssueClientCertificate(pki, ca, id, now);
                }
            }
        }

        if (!IsValidKeyPair(pki.CallerTokenPrivateKeyPath, pki.CallerTokenPublicKeyPath))
        {
            CreateKeyPair(pki.CallerTokenPrivateKeyPath, pki.CallerTokenPublicKeyPath);
        }

        // Kept across runs like the rest: a new key would leave the checkpoints already written under an unknown kid.
        if (!IsValidKeyPair(pki.LedgerSigningPrivateKeyPath, pki.LedgerSigningPublicKeyPath))
        {
            CreateKeyPair(pki.LedgerSigningPrivateKeyPath, pki.LedgerSigningPublicKeyPath);
        }

        return pki;
    }

    /// <summary>
    /// Revokes the client's current certificate: the CA publishes a new revocation list with its serial number added.
    /// The gateway reads the list again when it changes and refuses the client from its next request on.
    /// </summary>
    public void Revoke(string clientId)
    {
        RequireSafeId(clientId);
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(ClientCertificatePath(clientId));
        using var ca = X509Certificate2.CreateFromPemFile(CaCertificatePath, CaKeyPath);
        var now = DateTimeOffset.UtcNow;
        var list = Revoked(CrlPath) ?? new CertificateRevocationListBuilder();
        list.AddEntry(certificate.SerialNumberBytes.Span, now, X509RevocationReason.KeyCompromise);
        WriteCrl(this, ca, list, now);
    }

    /// <summary>
    /// Loads a client certificate with its private key, ready for <c>SslStream</c>/<c>HttpClient</c>.
    /// </summary>
    public static X509Certificate2 LoadClientCertificate(string folder, string clientId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        RequireSafeId(clientId);

        var pfx = ClientFile(folder, clientId, ".pfx");
        if (File.Exists(pfx))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(pfx, password: null);
        }

        using var fromPem = X509Certificate2.CreateFromPemFile(ClientFile(folder, clientId, ".pem"), ClientFile(folder, clientId, ".key"));
        return UsableByTls(fromPem);
    }

    public X509Certificate2 LoadClientCertificate(string clientId) => LoadClientCertificate(Folder, clientId);

    /// <summary>A certificate of the internal PKI with its key (a service's, or the gateway's hop certificate), ready for TLS.</summary>
    public X509Certificate2 LoadInternalCertificate(string certificatePath, string keyPath)
    {
        using var fromPem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        return UsableByTls(fromPem);
    }

    private static string ClientFile(string folder, string clientId, string extension) =>
        Path.Combine(Path.GetFullPath(folder), "clients", clientId + extension);

    // Ids become file names and certificate names; anything beyond this could escape the folder or the CN.
    private static void RequireSafeId(string clientId)
    {
        if (string.IsNullOrEmpty(clientId) || clientId.Length > 64 || clientId.StartsWith('.')
            || !clientId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException("A client id must be 1-64 ASCII letters, digits, '-', '_' or '.'.", nameof(clientId));
        }
    }

    /// <summary>The internal CA and what it issues: a server certificate per service of the catalogue, the gateway's hop certificate.</summary>
    private static void EnsureInternal(DemoPki pki, DateTimeOffset now)
    {
        Directory.CreateDirectory(Path.Combine(pki.Folder, "internal"));
        var ca = TryLoadCa(pki.InternalCaCertificatePath, pki.InternalCaKeyPath, now);
        var caIsNew = ca is null;
        ca ??= CreateCa(pki.InternalCaCertificatePath, pki.InternalCaKeyPath, "FamiljecentralHub Internal CA", now);
        using (ca)
        {
            foreach (var service in Catalogue.Names)
            {
                if (caIsNew || !IsValidLeaf(pki.ServiceCertificatePath(service), pki.ServiceKeyPath(service), ca, ServerAuthenticationOid, service, now))
                {
                    IssueServerCertificate(ca, service, pki.ServiceCertificatePath(service), pki.ServiceKeyPath(service), now);
                }
            }

            if (caIsNew || !IsValidLeaf(pki.GatewayHopCertificatePath, pki.GatewayHopKeyPath, ca, ClientAuthenticationOid, GatewayHopName, now))
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using var certificate = Issue(ca, key, GatewayHopName, ClientAuthenticationOid, alternativeNames: null, now);
                WriteAtomically(pki.GatewayHopKeyPath, key.ExportPkcs8PrivateKeyPem(), OwnerOnly);
                WriteAtomically(pki.GatewayHopCertificatePath, certificate.ExportCertificatePem(), Readable);
            }
        }
    }

    /// <summary>The CN of the gateway's hop certificate.</summary>
    private const string GatewayHopName = "hub-gateway";

    private static string RequireService(string service) =>
        Catalogue.Names.Contains(service) ? service : throw new ArgumentException($"No service '{service}'.", nameof(service));

    private static X509Certificate2? TryLoadCa(string certificatePath, string keyPath, DateTimeOffset now)
    {
        if (!File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            return null;
        }

        try
        {
            // Fails if the key does not belong to the certificate.
            var ca = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            var isCa = ca.Extensions.OfType<X509BasicConstraintsExtension>().Any(constraints => constraints.CertificateAuthority);
            if (isCa && ca.NotAfter.ToUniversalTime() > (now + RenewBefore).UtcDateTime && ca.NotBefore.ToUniversalTime() <= now.UtcDateTime)
            {
                return ca;
            }

            ca.Dispose();
            return null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static X509Certificate2 CreateCa(string certificatePath, string keyPath, string commonName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("FamiljecentralHub demo");
        name.AddCommonName(commonName);

        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        using var ca = request.CreateSelfSigned(now - BackdateBy, now + CaLifetime);
        WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem(), OwnerOnly);
        WriteAtomically(certificatePath, ca.ExportCertificatePem(), Readable);
        return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
    }

    private static void IssueGatewayCertificate(DemoPki pki, X509Certificate2 ca, DateTimeOffset now) =>
        IssueServerCertificate(ca, "localhost", pki.GatewayCertificatePath, pki.GatewayKeyPath, now);

    /// <summary>A loopback server certificate (SAN localhost, 127.0.0.1, ::1; a service's also its cluster names), its key owner-only.</summary>
    private static void IssueServerCertificate(X509Certificate2 ca, string commonName, string certificatePath, string keyPath, DateTimeOffset now)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        if (commonName != "localhost")
        {
            // A service's Kubernetes Service names too (deploy/kubernetes, namespace familjecentralhub), so the same demo
            // certificates serve the manifests: the gateway reaches it as https://<service>:8443 there.
            names.AddDnsName(commonName);
            names.AddDnsName($"{commonName}.familjecentralhub.svc");
            names.AddDnsName($"{commonName}.familjecentralhub.svc.cluster.local");
        }
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddIpAddress(System.Net.IPAddress.IPv6Loopback);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Issue(ca, key, commonName, ServerAuthenticationOid, names.Build(), now);
        WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem(), OwnerOnly);
        WriteAtomically(certificatePath, certificate.ExportCertificatePem(), Readable);
    }

    private static void IssueClientCertificate(DemoPki pki, X509Certificate2 ca, string clientId, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Issue(ca, key, clientId, ClientAuthenticationOid, alternativeNames: null, now, HsaIdOf(clientId));
        using var withKey = certificate.CopyWithPrivateKey(key);
        WriteAtomically(pki.ClientKeyPath(clientId), key.ExportPkcs8PrivateKeyPem(), OwnerOnly);
        WriteAtomically(pki.ClientCertificatePath(clientId), certificate.ExportCertificatePem(), Readable);
        WriteAtomically(pki.ClientPfxPath(clientId), withKey.Export(X509ContentType.Pkcs12), OwnerOnly);
    }

    private static X509Certificate2 Issue(
        X509Certificate2 ca, ECDsa key, string commonName, string usageOid, X509Extension? alternativeNames, DateTimeOffset now, string? serialNumber = null)
    {
        var name = new X500DistinguishedNameBuilder();
        if (serialNumber is not null)
        {
            name.Add(SerialNumberOid, serialNumber, UniversalTagNumber.PrintableString);
        }

        name.AddCommonName(commonName);

        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usageOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(
            ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (alternativeNames is not null)
        {
            request.CertificateExtensions.Add(alternativeNames);
        }

        // A leaf may not outlive its issuer: validators reject such a chain.
        var notAfter = now + LeafLifetime;
        if (notAfter > ca.NotAfter)
        {
            notAfter = ca.NotAfter;
        }

        return request.Create(ca, now - BackdateBy, notAfter, NewSerialNumber());
    }

    private static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        // Positive and without a leading zero octet, as RFC 5280 asks of serial numbers.
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    private static bool IsValidLeaf(
        string certificatePath, string keyPath, X509Certificate2 ca, string usageOid, string commonName, DateTimeOffset now, string? serialNumber = null)
    {
        if (!File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            return false;
        }

        try
        {
            using var certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            var serialNumbers = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
                .Where(rdn => !rdn.HasMultipleElements && rdn.GetSingleElementType().Value == SerialNumberOid)
                .Select(rdn => rdn.GetSingleElementValue())
                .ToList();
            // A client certificate made before clients were known by HSA id has none: it is issued again.
            var namesTheSerialNumber = serialNumber is null || (serialNumbers is [var only] && only == serialNumber);
            if (certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) != commonName
                || !namesTheSerialNumber
                || certificate.NotAfter.ToUniversalTime() <= (now + RenewBefore).UtcDateTime)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.DisableCertificateDownloads = true;
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usageOid));
            var valid = chain.Build(certificate);
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }

            return valid;
        }
        catch (Exception ex) when (ex is CryptographicException or AsnContentException)
        {
            return false;
        }
    }

    private static bool IsValidPfx(string pfxPath, string certificatePath)
    {
        if (!File.Exists(pfxPath))
        {
            return false;
        }

        try
        {
            using var fromPfx = X509CertificateLoader.LoadPkcs12FromFile(pfxPath, password: null);
            using var fromPem = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
            return fromPfx.HasPrivateKey && fromPfx.RawDataMemory.Span.SequenceEqual(fromPem.RawDataMemory.Span);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool IsValidKeyPair(string privateKeyPath, string publicKeyPath)
    {
        if (!File.Exists(privateKeyPath) || !File.Exists(publicKeyPath))
        {
            return false;
        }

        try
        {
            using var privateKey = ECDsa.Create();
            privateKey.ImportFromPem(File.ReadAllText(privateKeyPath));
            using var publicKey = ECDsa.Create();
            publicKey.ImportFromPem(File.ReadAllText(publicKeyPath));
            return privateKey.KeySize == 256
                && privateKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKey.ExportSubjectPublicKeyInfo());
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            return false;
        }
    }

    private static void CreateKeyPair(string privateKeyPath, string publicKeyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        WriteAtomically(privateKeyPath, key.ExportPkcs8PrivateKeyPem(), OwnerOnly);
        WriteAtomically(publicKeyPath, key.ExportSubjectPublicKeyInfoPem(), Readable);
    }

    // A key imported from PEM is ephemeral, which SslStream cannot use on every platform; a PKCS#12 round trip
    // gives the certificate a key the TLS stack accepts everywhere.
    private static X509Certificate2 UsableByTls(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);

    /// <summary>How long a revocation list is valid: a gateway refuses every client once it has passed unrenewed.</summary>
    private static readonly TimeSpan CrlLifetime = TimeSpan.FromDays(7);

    /// <summary>Missing, unreadable, or past half its life (by the time it was written): published again.</summary>
    private static bool NeedsReissue(string crlPath, DateTimeOffset now) =>
        !File.Exists(crlPath) || now - File.GetLastWriteTimeUtc(crlPath) > CrlLifetime / 2 || Revoked(crlPath) is null;

    /// <summary>The entries of the list on disk, to publish again with another added or a later date; null if there is none.</summary>
    private static CertificateRevocationListBuilder? Revoked(string crlPath)
    {
        try
        {
            return CertificateRevocationListBuilder.LoadPem(File.ReadAllText(crlPath), out _);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or AsnContentException or ArgumentException)
        {
            return null;
        }
    }

    private static void WriteCrl(DemoPki pki, X509Certificate2 ca, CertificateRevocationListBuilder? list, DateTimeOffset now)
    {
        list ??= new CertificateRevocationListBuilder();
        // Each list a higher number than the last (RFC 5280 5.2.3): the time will do for a demo CA.
        var number = new System.Numerics.BigInteger(now.ToUnixTimeMilliseconds());
        var der = list.Build(ca, number, now + CrlLifetime, HashAlgorithmName.SHA256, thisUpdate: now - BackdateBy);
        WriteAtomically(pki.CrlPath, PemEncoding.WriteString("X509 CRL", der), Readable);
    }

    private static void WriteAtomically(string path, string content, UnixFileMode mode) =>
        WriteAtomically(path, System.Text.Encoding.ASCII.GetBytes(content), mode);

    // Written beside the target and renamed into place, so a process reading the PKI (or a run that is killed
    // half-way) never sees half a key.
    private static void WriteAtomically(string path, byte[] content, UnixFileMode mode)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        // A leftover from a killed run would keep its old mode: the create mode applies to new files only.
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            // Set at creation, so a private key is never readable by others, not even for an instant.
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
