using System.Buffers;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>
/// The bounds every request body of every hub service is held to (docs/security.md, "Input at the edge"). Generous
/// for any real message, small enough that no request makes the hub do or answer much.
/// </summary>
public static class InputLimits
{
    /// <summary>
    /// Per request body, as at the gateway (Gateway:Limits:MaxRequestBodyBytes): a service enforces it itself, so a
    /// caller that reaches its port past the gateway gets no more room than through it.
    /// </summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>The deepest request is a consent (object, grantors, grantor, categories): 4. JSON deeper than this is refused.</summary>
    public const int MaxDepth = 16;

    /// <summary>Per string: some eight pages of free text. Identifiers have their own, tighter formats.</summary>
    public const int MaxStringLength = 20_000;

    /// <summary>Per list: no consent names a hundred units, no message a hundred categories or ratings.</summary>
    public const int MaxListItems = 100;

    /// <summary>An answer lists at most this many problems, and says how many there were.</summary>
    public const int MaxProblems = 20;

    /// <summary>Per problem, so a field's list of messages stays short too.</summary>
    public const int MaxMessagesPerField = 3;

    // C0 controls but tab, line feed and carriage return (free text keeps its lines); DEL and the C1 controls (U+0085
    // NEL among them, which PostgreSQL and terminals take as control); the noncharacters U+FDD0-U+FDEF, U+FFFE, U+FFFF;
    // and the bidirectional embeddings, overrides and isolates, which make text read differently from what it holds
    // ("Trojan Source", CVE-2021-42574). NUL is what PostgreSQL refuses in text, after the hub had answered 202.
    // Marks (U+200E, U+200F) stay: Arabic and Persian text at a family centre needs them, and they override nothing.
    private static readonly SearchValues<char> Refused = SearchValues.Create(
        [
            .. Range('\u0000', '\u0008'), '\u000B', '\u000C', .. Range('\u000E', '\u001F'), .. Range('\u007F', '\u009F'),
            .. Range('\u202A', '\u202E'), .. Range('\u2066', '\u2069'), .. Range('\uFDD0', '\uFDEF'), '\uFFFE', '\uFFFF',
        ]);

    /// <summary>
    /// Whether <paramref name="text"/> holds a character no field of the hub accepts: a control character (other than
    /// tab, line feed, carriage return), a surrogate without its pair, a noncharacter or a bidirectional override.
    /// </summary>
    public static bool HasRefusedCharacter(ReadOnlySpan<char> text)
    {
        if (text.ContainsAny(Refused))
        {
            return true;
        }

        for (var i = text.IndexOfAnyInRange('\uD800', '\uDFFF'); i >= 0 && i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<char> Range(char first, char last)
    {
        for (var c = first; c <= last; c++)
        {
            yield return c;
        }
    }
}
