using System.Text.RegularExpressions;

namespace FamiljecentralHub.ServiceDefaults.Identity;

/// <summary>
/// An HSA id, the Swedish health and care directory's identifier of a person in their role (e.g. SE2321000016-BVC1):
/// "SE", the organisation number (ten digits, or twelve with the "16" prefix), a hyphen and a suffix of up to 31
/// letters and digits. It is what the decision ledger records as the acting user, and the ledger is append-only: so
/// nothing else is taken, least of all a personal identity number: a suffix with ten or more digits in a row is refused,
/// since it may be one, and so is an organisation number shaped like one (a legal person's has a third and fourth digit
/// of at least 20; a sole trader's is the owner's personal identity number, which the ledger may not hold).
/// </summary>
public static partial class HsaId
{
    public const int MaxLength = 2 + 12 + 1 + 31;

    /// <summary>Null when <paramref name="value"/> is a well-formed HSA id; otherwise why not, never repeating it.</summary>
    public static string? Check(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "give the acting user's HSA id, e.g. SE2321000016-BVC1";
        }

        if (value.Length > MaxLength || !Format().IsMatch(value))
        {
            return "must be an HSA id: SE, the organisation number, a hyphen and up to 31 letters and digits, e.g. SE2321000016-BVC1";
        }

        var hyphen = value.IndexOf('-', StringComparison.Ordinal);
        var organisation = value[(hyphen - 10)..hyphen];
        return LongDigitRun().IsMatch(value[(hyphen + 1)..]) || organisation[2] < '2'
            ? "must be an HSA id, not a personal identity number"
            : null;
    }

    [GeneratedRegex(@"^SE(\d{10}|16\d{10})-[A-Za-z0-9]{1,31}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Format();

    [GeneratedRegex(@"\d{10}", RegexOptions.CultureInvariant)]
    private static partial Regex LongDigitRun();
}
