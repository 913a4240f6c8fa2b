using System.Security.Cryptography;
using System.Text;

namespace FamiljecentralHub.ServiceDefaults.Disclosures;

/// <summary>
/// A message's id from its sending unit and Idempotency-Key: a retried submission is the same message, so the gate,
/// the ledger and the inbox all see it once; and operations find a message by the key a sender quotes, without the hub
/// ever storing the key (a client may have put anything in it).
/// </summary>
/// <remarks>
/// A key is often guessable (a sequence, a time), and so is the id derived from it. So the submission carries the key's
/// digest (<see cref="KeyDigest"/>, never the key) and the gate derives the id again from the sending unit and that
/// digest (<see cref="BelongsTo"/>): a service that guessed another unit's key can compute the id, but cannot submit
/// under it for a unit of its own, and through another service's way in it takes no decision (docs/secrecy-gate.md).
/// An id without a key is random (version 7), which no one can guess ahead of its message.
/// </remarks>
public static class IdempotentMessageId
{
    private const string Version = "hub-message-id/2";

    /// <summary>With a key, the id derived from it; without one, a new id: every such submission is new.</summary>
    public static Guid For(string sendingUnit, string? idempotencyKey) =>
        string.IsNullOrEmpty(idempotencyKey) ? Guid.CreateVersion7() : FromDigest(sendingUnit, KeyDigest(idempotencyKey));

    /// <summary>The digest of a client's key: what a keyed submission carries, so that the gate can check its id.</summary>
    public static byte[] KeyDigest(string idempotencyKey) => SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey));

    /// <summary>
    /// Whether <paramref name="id"/> may be the id of a submission from <paramref name="sendingUnit"/>: a derived id
    /// (version 8) only with the digest it was derived from under that unit; any other id is not derived from a key.
    /// </summary>
    public static bool BelongsTo(Guid id, string sendingUnit, byte[]? keyDigest) =>
        id.Version != 8 || (keyDigest is { Length: SHA256.HashSizeInBytes } && FromDigest(sendingUnit, keyDigest) == id);

    private static Guid FromDigest(string sendingUnit, byte[] keyDigest)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{Version}\n{sendingUnit}\n{Convert.ToHexStringLower(keyDigest)}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // RFC 9562 version 8: name-based, custom hash
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
