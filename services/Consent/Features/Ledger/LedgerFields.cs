using System.Text.RegularExpressions;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// Shapes of what other services write that the append-only ledger keeps. A client id is the gateway's name for a
/// registered system (letters, digits, dots, hyphens, underscores); anything else is recorded as a fixed word, so that a
/// faulty or compromised service cannot make the ledger hold a name or an identity number for good.
/// </summary>
internal static partial class LedgerFields
{
    public const string Malformed = "(malformed)";

    public static bool IsClientId(string? value) => value is not null && ClientIdShape().IsMatch(value);

    public static string ClientId(string value) => IsClientId(value) ? value : Malformed;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ClientIdShape();
}
