using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace FamiljecentralHub.ServiceDefaults.Identity;

/// <summary>
/// A Swedish personal identity number (personnummer) or co-ordination number (samordningsnummer, day + 60), in the
/// 12-digit form YYYYMMDDNNNC. The check digit C is the Luhn digit of the last ten digits.
/// </summary>
public readonly record struct PersonalIdentityNumber
{
    private PersonalIdentityNumber(string value, DateOnly birthDate, bool isCoordinationNumber)
    {
        Value = value;
        BirthDate = birthDate;
        IsCoordinationNumber = isCoordinationNumber;
    }

    /// <summary>Twelve digits, no separator.</summary>
    public string Value { get; }

    public DateOnly BirthDate { get; }

    public bool IsCoordinationNumber { get; }

    public int AgeOn(DateOnly day)
    {
        var age = day.Year - BirthDate.Year;
        return BirthDate.AddYears(age) > day ? age - 1 : age;
    }

    public override string ToString() => Value;

    /// <summary>Accepts YYYYMMDDNNNN or YYYYMMDD-NNNN. The error never repeats the input: it is personal data.</summary>
    public static bool TryParse(string? input, [NotNullWhen(true)] out PersonalIdentityNumber? number, out string error)
    {
        number = null;
        var digits = input?.Trim().Replace("-", "", StringComparison.Ordinal) ?? "";
        if (digits.Length != 12 || !digits.All(char.IsAsciiDigit))
        {
            error = "must be 12 digits, YYYYMMDDNNNN or YYYYMMDD-NNNN";
            return false;
        }

        var year = int.Parse(digits[..4], CultureInfo.InvariantCulture);
        var month = int.Parse(digits[4..6], CultureInfo.InvariantCulture);
        var day = int.Parse(digits[6..8], CultureInfo.InvariantCulture);
        var coordination = day > 60;
        if (coordination)
        {
            day -= 60;
        }

        if (year < 1870 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            error = "does not hold a valid date of birth";
            return false;
        }

        if (!LuhnValid(digits.AsSpan(2)))
        {
            error = "has a wrong check digit";
            return false;
        }

        number = new PersonalIdentityNumber(digits, new DateOnly(year, month, day), coordination);
        error = "";
        return true;
    }

    private static bool LuhnValid(ReadOnlySpan<char> tenDigits)
    {
        var sum = 0;
        for (var i = 0; i < tenDigits.Length; i++)
        {
            var d = tenDigits[i] - '0';
            if (i % 2 == 0)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        return sum % 10 == 0;
    }
}
