using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// Issues the short-lived ES256 token the gateway forwards in <see cref="CallerTokenDefaults.HeaderName"/>.
/// </summary>
/// <remarks>
/// A token is reused for the same client and audience for half its lifetime: signing on every request would
/// cost more than the rest of the hop under load, and a token is never older than 30 s when it is sent, so a
/// service with a few seconds of clock skew still has ample margin. The <c>jti</c> therefore names a token,
/// not a request; services must not use it for replay detection.
/// </remarks>
public sealed class CallerTokenIssuer
{
    private static readonly TimeSpan ReuseFor = CallerTokenDefaults.Lifetime / 2;

    private readonly JsonWebTokenHandler handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<(string ClientId, string Audience), CachedToken> cache = new();
    private readonly RereadKeyFile<SigningCredentials> credentials;
    private readonly TimeProvider timeProvider;
    private readonly string? boundTo;

    /// <param name="privateKeyPemPath">
    /// PKCS#8 PEM of an ECDSA P-256 private key. Read again when it changes, so the key rotates without a restart; every
    /// token names its key in <c>kid</c>.
    /// </param>
    /// <param name="boundTo">
    /// The client certificate the gateway presents to services: every token names it (RFC 8705 <c>cnf</c>), so a service
    /// accepts the token only on a connection made with that certificate. Null issues unbound tokens, which services
    /// refuse; only tests want those.
    /// </param>
    /// <param name="timeProvider">Defaults to the system clock.</param>
    public CallerTokenIssuer(string privateKeyPemPath, X509Certificate2? boundTo = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(privateKeyPemPath);
        credentials = new RereadKeyFile<SigningCredentials>(
            privateKeyPemPath, path => new SigningCredentials(CallerTokenKeys.LoadPrivateKey(path), SecurityAlgorithms.EcdsaSha256), TimeSpan.FromSeconds(1));
        this.timeProvider = timeProvider ?? TimeProvider.System;
        this.boundTo = boundTo is null ? null : CertificateBinding.ThumbprintOf(boundTo);
    }

    /// <param name="duties">The accountability duties the client is registered for (<see cref="Duties"/>); none when null.</param>
    /// <param name="operates">For an operations client: the principal whose messages its operators watch, or <c>hub</c>.</param>
    public string Issue(string clientId, IReadOnlyList<string> units, string audience, IReadOnlyList<string>? duties = null, string? operates = null)
    {
        duties ??= [];
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ArgumentNullException.ThrowIfNull(units);
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);

        var now = timeProvider.GetUtcNow();
        var key = (clientId, audience);
        if (cache.TryGetValue(key, out var cached) && now < cached.ReuseUntil && now >= cached.IssuedAt
            && cached.Units.SequenceEqual(units, StringComparer.Ordinal) && cached.Duties.SequenceEqual(duties, StringComparer.Ordinal)
            && cached.Operates == operates)
        {
            return cached.Token;
        }

        // Two threads may both miss and both sign; the loser's token is just as valid, so no lock is needed.
        var token = Create(clientId, units, audience, duties, operates, now);
        cache[key] = new CachedToken(token, [.. units], [.. duties], operates, now, now + ReuseFor);
        return token;
    }

    private string Create(string clientId, IReadOnlyList<string> units, string audience, IReadOnlyList<string> duties, string? operates, DateTimeOffset now)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = CallerTokenDefaults.Issuer,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + CallerTokenDefaults.Lifetime).UtcDateTime,
            SigningCredentials = credentials.Current,
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                [CallerTokenDefaults.SubjectClaim] = clientId,
                // Always an array, even with zero or one unit, so services never have to guess the shape.
                [CallerTokenDefaults.UnitsClaim] = units.ToArray(),
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
        };
        if (duties.Count > 0)
        {
            // Only when the client holds a duty: every other client's token stays as it was.
            descriptor.Claims[CallerTokenDefaults.DutiesClaim] = duties.ToArray();
        }

        if (operates is not null)
        {
            descriptor.Claims[CallerTokenDefaults.OperatesClaim] = operates;
        }

        if (boundTo is not null)
        {
            descriptor.Claims[CallerTokenDefaults.ConfirmationClaim] = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                [CallerTokenDefaults.CertificateThumbprintMember] = boundTo,
            };
        }

        return handler.CreateToken(descriptor);
    }

    private sealed record CachedToken(string Token, string[] Units, string[] Duties, string? Operates, DateTimeOffset IssuedAt, DateTimeOffset ReuseUntil);
}
