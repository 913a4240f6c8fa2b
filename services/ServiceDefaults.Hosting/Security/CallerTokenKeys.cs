using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// The caller-token keys: ECDSA P-256 (ES256), each known by its kid, the RFC 7638 JWK thumbprint of its public key, so
/// that no name has to be kept in step with a key. The public key file may hold several keys (PEM blocks one after the
/// other): during a rotation the old and the new one are both valid.
/// </summary>
internal static class CallerTokenKeys
{
    private const string PublicKeyLabel = "PUBLIC KEY";

    public static ECDsaSecurityKey LoadPrivateKey(string pemPath) => Load(File.ReadAllText(pemPath), requirePrivateKey: true);

    /// <summary>Every public key in the file, each with its kid; throws when there is none or one is not P-256.</summary>
    public static IReadOnlyList<ECDsaSecurityKey> LoadPublicKeys(string pemPath)
    {
        var text = File.ReadAllText(pemPath);
        var keys = new List<ECDsaSecurityKey>();
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var block = rest[fields.Location];
            if (rest.Span[fields.Label].SequenceEqual(PublicKeyLabel))
            {
                keys.Add(Load(block.ToString(), requirePrivateKey: false));
            }

            rest = rest[fields.Location.End..];
        }

        return keys.Count > 0 ? keys : throw new InvalidOperationException("The caller-token public key file holds no public key.");
    }

    public static bool TryLoadPublicKey(string? pemPath) => TryLoad(pemPath, path => LoadPublicKeys(path));

    public static bool TryLoadPrivateKey(string? pemPath) => TryLoad(pemPath, path => LoadPrivateKey(path));

    /// <summary>RFC 7638: a third party given the public key computes the same kid.</summary>
    public static string KidOf(ECDsaSecurityKey key) => Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());

    private static bool TryLoad(string? pemPath, Func<string, object> load)
    {
        if (string.IsNullOrWhiteSpace(pemPath) || !File.Exists(pemPath))
        {
            return false;
        }

        try
        {
            _ = load(pemPath);
            return true;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static ECDsaSecurityKey Load(string pem, bool requirePrivateKey)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);

            // ES256 is P-256 by definition; a key on another curve would sign tokens no service accepts.
            if (ecdsa.KeySize != 256)
            {
                throw new InvalidOperationException("The caller-token key must be an ECDSA P-256 key.");
            }

            if (requirePrivateKey)
            {
                // Throws when the PEM held only a public key, so a misconfigured gateway fails at start.
                _ = ecdsa.ExportParameters(includePrivateParameters: true);
            }

            var key = new ECDsaSecurityKey(ecdsa);
            key.KeyId = KidOf(key);
            return key;
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A key file read again when it changes, so keys rotate without a restart: at most one look at the file's time per
/// <c>refresh</c>, and the file read only when that time moved. A file that cannot be read keeps the keys last read
/// (half-written during a rotation, it is read again at the next look).
/// </summary>
internal sealed class RereadKeyFile<T>(string path, Func<string, T> load, TimeSpan refresh)
    where T : class
{
    private readonly Lock gate = new();
    private T current = load(path);
    private DateTime writtenAt = File.GetLastWriteTimeUtc(path);
    private long lookedAt = Environment.TickCount64;

    public T Current
    {
        get
        {
            if (Environment.TickCount64 - Volatile.Read(ref lookedAt) < (long)refresh.TotalMilliseconds)
            {
                return Volatile.Read(ref current);
            }

            lock (gate)
            {
                Volatile.Write(ref lookedAt, Environment.TickCount64);
                var written = File.GetLastWriteTimeUtc(path);
                if (written != writtenAt)
                {
                    try
                    {
                        Volatile.Write(ref current, load(path));
                        writtenAt = written;
                    }
                    catch (Exception ex) when (ex is IOException or CryptographicException or ArgumentException or InvalidOperationException)
                    {
                    }
                }

                return current;
            }
        }
    }
}
