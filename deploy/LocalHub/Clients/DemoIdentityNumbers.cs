using System.Globalization;

namespace FamiljecentralHub.LocalHub.Clients;

/// <summary>
/// Made-up but well-formed personal identity numbers for demo children (a real date and a correct Luhn check digit),
/// so the benchmark and the tests can use many distinct subjects without any real person's number.
/// </summary>
public static class DemoIdentityNumbers
{
    public static string Child(int index)
    {
        var birth = new DateOnly(2024, 1, 1).AddDays(index % 700);
        var serial = 200 + (index / 700 % 700);
        var checkedPart = string.Create(CultureInfo.InvariantCulture, $"{birth:yyMMdd}{serial:000}");
        return string.Create(CultureInfo.InvariantCulture, $"{birth:yyyyMMdd}{serial:000}{CheckDigit(checkedPart)}");
    }

    /// <summary>The Luhn digit over the nine digits YYMMDDNNN.</summary>
    public static int CheckDigit(string nineDigits)
    {
        var sum = 0;
        for (var i = 0; i < nineDigits.Length; i++)
        {
            var d = (nineDigits[i] - '0') * (i % 2 == 0 ? 2 : 1);
            sum += d > 9 ? d - 9 : d;
        }

        return (10 - (sum % 10)) % 10;
    }
}
