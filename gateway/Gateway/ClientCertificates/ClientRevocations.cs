using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>What the revocation list says of one client certificate.</summary>
internal enum RevocationStatus
{
    Good,
    Revoked,

    /// <summary>No valid list to ask: missing, not signed by the client CA, or past its next update. Fail closed.</summary>
    Unknown,
}

/// <summary>
/// The client CA's certificate revocation list (RFC 5280 section 5), as SITHS publishes one: read from
/// <c>Gateway:ClientCrlPath</c>, its signature checked against the client CA, and read again within a second of a change,
/// so a client revoked by its CA is refused from its next request on, on a connection already open too. .NET builds a
/// chain's revocation status only from lists it downloads itself and caches until their next update; this list is the
/// CA's file, handed over as the CA key and certificate are, so it is read here with the runtime's ASN.1 reader.
/// </summary>
internal sealed class ClientRevocations
{
    private readonly string? path;
    private readonly Func<X509Certificate2Collection> authorities;
    private readonly TimeProvider clock;
    private readonly Lock gate = new();
    private RevocationList? current;
    private X509Certificate2Collection? readWith;
    private DateTime writtenAt;
    private long lookedAt = Environment.TickCount64 - 1000; // the first check reads the list

    /// <param name="path">The list's file (PEM "X509 CRL" or DER); null when revocation is not checked.</param>
    /// <param name="authorities">The client CA bundle in force; the list is read again when it changes.</param>
    public ClientRevocations(string? path, Func<X509Certificate2Collection> authorities, TimeProvider clock)
    {
        this.path = string.IsNullOrWhiteSpace(path) ? null : path;
        this.authorities = authorities;
        this.clock = clock;
    }

    public bool IsChecked => path is not null;

    public RevocationStatus Check(X509Certificate2 certificate)
    {
        if (path is null)
        {
            return RevocationStatus.Good;
        }

        var list = Current();
        if (list is null || list.NextUpdate < clock.GetUtcNow() || !certificate.IssuerName.RawData.AsSpan().SequenceEqual(list.Issuer))
        {
            return RevocationStatus.Unknown;
        }

        return list.Serials.Contains(Convert.ToHexString(certificate.SerialNumberBytes.Span)) ? RevocationStatus.Revoked : RevocationStatus.Good;
    }

    private RevocationList? Current()
    {
        if (Environment.TickCount64 - Volatile.Read(ref lookedAt) < 1000)
        {
            return Volatile.Read(ref current);
        }

        lock (gate)
        {
            // Another request looked while this one waited for the lock. The look is stamped only once the list is read
            // (below): stamped before, the requests arriving meanwhile took the list not yet read for none and refused
            // every client of a gateway just started.
            if (Environment.TickCount64 - lookedAt < 1000)
            {
                return current;
            }

            try
            {
                var written = File.GetLastWriteTimeUtc(path!);
                var bundle = authorities();
                if (current is null || written != writtenAt || !ReferenceEquals(bundle, readWith))
                {
                    current = RevocationList.Read(File.ReadAllBytes(path!), bundle);
                    writtenAt = written;
                    readWith = bundle;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or AsnContentException or FormatException)
            {
                // An unreadable or forged list: nothing is known. (A half-written one is read again at the next look.)
                current = null;
            }

            Volatile.Write(ref lookedAt, Environment.TickCount64);
            return current;
        }
    }
}

/// <summary>A revocation list whose signature an authority's key verified: its issuer, next update and revoked serials (hex).</summary>
internal sealed record RevocationList(byte[] Issuer, DateTimeOffset NextUpdate, HashSet<string> Serials)
{
    private const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";

    /// <summary>Throws unless <paramref name="file"/> is a list signed (ECDSA with SHA-256) by one of <paramref name="authorities"/>, with a next update.</summary>
    public static RevocationList Read(byte[] file, X509Certificate2Collection authorities)
    {
        var der = IsPem(file) ? Convert.FromBase64String(PemBody(file)) : file;
        var certificateList = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var tbs = certificateList.ReadEncodedValue().ToArray();
        var algorithm = certificateList.ReadSequence().ReadObjectIdentifier();
        var signature = certificateList.ReadBitString(out _);
        if (algorithm != EcdsaWithSha256)
        {
            throw new CryptographicException("The revocation list is not signed with ECDSA and SHA-256.");
        }

        var body = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
        if (body.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            body.ReadInteger(); // version
        }

        body.ReadSequence(); // signature algorithm, as above
        var issuer = body.ReadEncodedValue().ToArray();
        _ = ReadTime(body); // thisUpdate
        var nextUpdate = body.HasData && IsTime(body.PeekTag())
            ? ReadTime(body)
            : throw new CryptographicException("The revocation list has no next update.");
        var serials = new HashSet<string>(StringComparer.Ordinal);
        if (body.HasData && body.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var entries = body.ReadSequence();
            while (entries.HasData)
            {
                var entry = entries.ReadSequence();
                serials.Add(Convert.ToHexString(entry.ReadIntegerBytes().Span));
            }
        }

        var signer = authorities.FirstOrDefault(authority => authority.SubjectName.RawData.AsSpan().SequenceEqual(issuer))
            ?? throw new CryptographicException("The revocation list is not from the client CA.");
        using var key = signer.GetECDsaPublicKey() ?? throw new CryptographicException("The client CA has no ECDSA key.");
        if (!key.VerifyData(tbs, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
        {
            throw new CryptographicException("The revocation list's signature does not verify.");
        }

        return new RevocationList(issuer, nextUpdate, serials);
    }

    private static bool IsTime(Asn1Tag tag) => tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime() : reader.ReadGeneralizedTime();

    private static bool IsPem(byte[] file) => file.AsSpan().IndexOf("-----BEGIN"u8) >= 0;

    private static string PemBody(byte[] file)
    {
        var text = System.Text.Encoding.ASCII.GetString(file);
        var fields = PemEncoding.Find(text);
        return text[fields.Label] == "X509 CRL" ? text[fields.Base64Data] : throw new CryptographicException("The file holds no X509 CRL.");
    }
}
