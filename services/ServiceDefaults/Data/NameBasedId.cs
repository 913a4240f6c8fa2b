using System.Security.Cryptography;
using System.Text;

namespace FamiljecentralHub.ServiceDefaults.Data;

/// <summary>
/// An id that whoever writes a thing first gives it, from the thing's name: a ledger entry per consent version, a
/// sweep's announcement, a notice's delivery id. The same name is the same id on every instance and every retry, so a
/// second writer finds the first's row instead of adding its own. The ids are stored, so the derivation never changes:
/// the first 16 bytes of the name's SHA-256 as .NET lays out a Guid's bytes, marked as an RFC 9562 version 8.
/// </summary>
public static class NameBasedId
{
    public static Guid Of(string name)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 16).ToArray();
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x80); // version 8: application-defined
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(bytes);
    }
}
