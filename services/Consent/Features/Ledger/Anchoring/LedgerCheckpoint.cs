using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>
/// A signed statement of the chain's head: at <see cref="Seq"/> the entry's hash was <see cref="Head"/>, the ledger
/// held <see cref="Entries"/> entries, at <see cref="At"/>, signed with the key <see cref="Kid"/>. The hash at a seq
/// covers every entry up to it, so one checkpoint anchors the whole chain below it. Seq numbers and hashes only: no
/// entry's content, and nothing about any person.
/// </summary>
public sealed record LedgerCheckpoint(long Seq, byte[] Head, long Entries, DateTimeOffset At, string Kid)
{
    /// <summary>The JWS <c>typ</c>: a checkpoint is never mistaken for a caller token, or the reverse.</summary>
    public const string TokenType = "ledger-checkpoint+jwt";

    public string HeadHex => Convert.ToHexStringLower(Head);
}

/// <summary>One line of the checkpoint file: the checkpoint in plain JSON for a reader, and the JWS that is its proof.</summary>
public sealed record CheckpointLine
{
    public required long Seq { get; init; }
    public required string Head { get; init; }
    public required long Entries { get; init; }
    public required DateTimeOffset At { get; init; }
    public required string Kid { get; init; }
    public required string Jws { get; init; }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}

/// <summary>
/// Signs and verifies checkpoints as JWS compact serialisations with ES256 (RFC 7515/7518). Chosen over a bare ECDSA
/// signature over a canonical string: the format, the algorithm and the key id travel in the signed header, a region's
/// archive or a third party verifies a line with any JOSE library and the public key as a JWK, and the library the hub
/// already uses for caller tokens does the work, so no canonical form of our own has to be specified and kept.
/// </summary>
public static class CheckpointSignatures
{
    private const string SeqClaim = "seq";
    private const string HeadClaim = "head";
    private const string EntriesClaim = "entries";
    private const string IssuedAtClaim = "iat";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The checkpoint as one line of the file, signed; its time is kept to the second, as the JWS carries it.</summary>
    public static string Sign(long seq, byte[] head, long entries, DateTimeOffset at, ECDsaSecurityKey key)
    {
        var seconds = at.ToUnixTimeSeconds();
        var jws = Handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = LedgerCheckpoint.TokenType,
            Claims = new Dictionary<string, object>
            {
                [SeqClaim] = seq,
                [HeadClaim] = Convert.ToHexStringLower(head),
                [EntriesClaim] = entries,
                [IssuedAtClaim] = seconds,
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
        });
        return JsonSerializer.Serialize(new CheckpointLine
        {
            Seq = seq,
            Head = Convert.ToHexStringLower(head),
            Entries = entries,
            At = DateTimeOffset.FromUnixTimeSeconds(seconds),
            Kid = key.KeyId,
            Jws = jws,
        }, CheckpointLine.Json);
    }

    /// <summary>
    /// The checkpoint a line proves, or why it proves nothing: not a checkpoint line at all, a kid none of
    /// <paramref name="keys"/> has, a signature that does not verify, or plain fields that differ from the signed ones.
    /// </summary>
    public static async Task<(LedgerCheckpoint? Checkpoint, string? Problem)> VerifyAsync(string line, IReadOnlyDictionary<string, ECDsaSecurityKey> keys)
    {
        CheckpointLine? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<CheckpointLine>(line, CheckpointLine.Json);
        }
        catch (JsonException)
        {
            return (null, "is not a checkpoint line");
        }

        if (parsed is null)
        {
            return (null, "is not a checkpoint line");
        }

        JsonWebToken token;
        try
        {
            token = new JsonWebToken(parsed.Jws);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            return (null, "carries no readable JWS");
        }

        if (!keys.TryGetValue(token.Kid ?? "", out var key))
        {
            // A kid is a key's thumbprint, never personal data: named so an operator sees which public key is missing.
            return (null, $"is signed with an unknown key (kid {Printable(token.Kid)} not configured)");
        }

        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = [LedgerCheckpoint.TokenType],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
        });
        if (!result.IsValid)
        {
            return (null, "has a signature that does not verify");
        }

        if (!token.TryGetPayloadValue<long>(SeqClaim, out var seq) || !token.TryGetPayloadValue<string>(HeadClaim, out var head)
            || !token.TryGetPayloadValue<long>(EntriesClaim, out var entries) || !token.TryGetPayloadValue<long>(IssuedAtClaim, out var seconds)
            || head.Length != 64 || !head.All(char.IsAsciiHexDigitLower) || seq < 1 || entries < 0)
        {
            return (null, "is signed but not a checkpoint the gate writes");
        }

        var at = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (parsed.Seq != seq || parsed.Head != head || parsed.Entries != entries || parsed.At != at || parsed.Kid != key.KeyId)
        {
            return (null, "says otherwise than its signature");
        }

        return (new LedgerCheckpoint(seq, Convert.FromHexString(head), entries, at, key.KeyId), null);
    }

    // A forged line's kid is whatever its author wrote: shown only as a bounded run of base64url characters.
    private static string Printable(string? kid) =>
        kid is { Length: > 0 and <= 64 } && kid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? kid : "(not a thumbprint)";

    internal static string Describe(LedgerCheckpoint c) =>
        string.Create(CultureInfo.InvariantCulture, $"seq {c.Seq} ({c.At.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}, key {c.Kid})");
}
