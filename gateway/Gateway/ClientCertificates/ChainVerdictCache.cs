using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.Extensions.Caching.Memory;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// Remembers the certificate handler's verdict on a certificate's chain and usage, so a client's requests do not each
/// build its chain again (about 0.3 ms of CPU a request on the 2-core machine). The handler's own cache
/// (AddCertificateCache) will not do: its entries slide, so a certificate in steady use would stay trusted for ever after
/// its CA left the bundle. Here a verdict is kept under the bundle it was reached with (<see cref="ClientTrust.Generation"/>)
/// for at most five minutes and never past the certificate's end of validity. Only the chain is cached: revocation and
/// the registry are looked up on every request (ClientIdentificationMiddleware).
/// </summary>
internal sealed class ChainVerdictCache(ClientTrust trust, TimeProvider clock) : ICertificateValidationCache, IDisposable
{
    private static readonly TimeSpan LongestKept = TimeSpan.FromMinutes(5);

    private readonly MemoryCache verdicts = new(new MemoryCacheOptions { SizeLimit = 10_000 });

    /// <summary>
    /// The verdict kept, or, for a certificate without one, a refusal when its chain does not build offline: the handler,
    /// which asks here first, builds chains with downloads on and no way to turn them off, and would fetch an issuer
    /// missing from the bundle from the address the certificate names, for any client, before it is authenticated
    /// (<see cref="ClientTrust.ChainsOffline"/>). A chain that builds offline the handler then builds from the bundle alone.
    /// </summary>
    public AuthenticateResult? Get(HttpContext context, X509Certificate2 certificate)
    {
        // The key once, before the chain is built: a bundle changing meanwhile leaves this verdict under the old one.
        var key = Key(certificate);
        if (verdicts.TryGetValue(key, out AuthenticateResult? verdict))
        {
            return verdict;
        }

        if (trust.ChainsOffline(certificate))
        {
            return null;
        }

        // Kept like any verdict (an expired certificate's too: a refusal stays one), so a client sending it again and
        // again, before the rate limits that follow identification, does not have a chain built for every request.
        var refused = AuthenticateResult.Fail(ClientIdentification.NotTrusted);
        // Evicted first when the cache is full, so that certificates made up by the thousand cannot crowd out real ones.
        verdicts.Set(key, refused, new MemoryCacheEntryOptions { Size = 1, Priority = CacheItemPriority.Low }
            .SetAbsoluteExpiration(clock.GetUtcNow() + LongestKept));
        return refused;
    }

    public void Put(HttpContext context, X509Certificate2 certificate, AuthenticateResult result)
    {
        var now = clock.GetUtcNow();
        var until = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        if (until <= now)
        {
            return;
        }

        verdicts.Set(Key(certificate), result, new MemoryCacheEntryOptions { Size = 1 }
            .SetAbsoluteExpiration(until < now + LongestKept ? until : now + LongestKept));
    }

    public void Dispose() => verdicts.Dispose();

    private (int, string) Key(X509Certificate2 certificate) =>
        (trust.Generation, Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)));
}
