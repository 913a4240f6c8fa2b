using System.Text.RegularExpressions;

namespace FamiljecentralHub.ServiceDefaults.Identity;

/// <summary>
/// A registered client system's id, as the clients file names it and caller tokens carry it: letters, digits, dots,
/// hyphens and underscores, up to 64. It is what the decision ledger records as the acting system, so the gateway takes
/// no other, and the gate records anything else a service writes there as a fixed word.
/// </summary>
public static partial class ClientId
{
    public static bool IsWellFormed(string? value) => value is not null && Shape().IsMatch(value);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}
