using System.Security.Cryptography;
using System.Text;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// The Idempotency-Key header as draft-ietf-httpapi-idempotency-key-header describes it: a key binds to one request.
/// The service keeps the fingerprint of the first request made with each key (per sending unit); the same key with the
/// same request gets the same answer, the same key with another request is refused (docs/design-decisions.md).
/// </summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";
    public const int MaxLength = 255;

    /// <summary>Why the key cannot be used, or null. Never repeats the key: a client might have put anything in it.</summary>
    public static string? Problem(string key)
    {
        if (key.Length is 0 or > MaxLength)
        {
            return $"the {Header} must be 1 to {MaxLength} characters long";
        }

        foreach (var c in key)
        {
            if (c is < ' ' or > '~')
            {
                return $"the {Header} may hold only printable ASCII characters (space to ~)";
            }
        }

        return null;
    }

    /// <summary>
    /// SHA-256 over the route (the message type) and the validated message in the gate's canonical form
    /// (<see cref="SubmissionDigest"/>): sending and receiving unit, subject, purpose, categories, claimed basis, content,
    /// acting system and user. Validated, not raw: the same request in other JSON spacing or key order is the same request.
    /// </summary>
    public static byte[] Fingerprint(string route, SubmitDisclosure message) =>
        SHA256.HashData([.. Encoding.UTF8.GetBytes($"hub-request/1\n{route}\n"), .. SubmissionDigest.Canonical(message)]);
}
