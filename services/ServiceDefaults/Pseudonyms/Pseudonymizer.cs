using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Pseudonyms;

public sealed class PseudonymOptions
{
    public const string Section = "Pseudonym";

    /// <summary>Base64 of at least 32 random bytes. Whoever holds it can link pseudonyms to people: keep it secret.</summary>
    [Required, MinLength(44)]
    public string Key { get; set; } = "";
}

/// <summary>
/// A keyed pseudonym of a subject (HMAC-SHA256 of the normalised identity number): stable, so operations can follow
/// one family's messages, but useless without the key. The only form in which a subject may appear in logs, traces,
/// lifecycle events and ops views (domain.md section 8).
/// </summary>
public sealed class Pseudonymizer(IOptions<PseudonymOptions> options)
{
    private readonly byte[] key = Convert.FromBase64String(options.Value.Key);

    public string For(string personalIdentityNumber)
    {
        var normalised = personalIdentityNumber.Replace("-", "", StringComparison.Ordinal).Replace("+", "", StringComparison.Ordinal).Trim();
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(normalised), mac);
        return "p-" + Convert.ToHexStringLower(mac[..12]);
    }
}
