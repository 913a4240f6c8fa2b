using System.Security.Cryptography;
using System.Text;

namespace FamiljecentralHub.ServiceDefaults.Disclosures;

/// <summary>
/// A message's id from its sending unit and Idempotency-Key: a retried submission is the same message, so the gate,
/// the ledger and the inbox all see it once; and operations find a message by the key a sender quotes, without the hub
/// ever storing the key (a client may have put anything in it).
/// </summary>
public static class IdempotentMessageId
{
    /// <summary>With a key, the id derived from it; without one, a new id: every such submission is new.</summary>
    public static Guid For(string sendingUnit, string? idempotencyKey)
    {
        if (string.IsNullOrEmpty(idempotencyKey))
        {
            return Guid.CreateVersion7();
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{sendingUnit}\n{idempotencyKey}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // RFC 9562 version 8: name-based, custom hash
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
