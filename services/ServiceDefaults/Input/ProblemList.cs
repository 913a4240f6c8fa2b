using System.Text.RegularExpressions;
using FamiljecentralHub.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>Problems by field, in the order found: every one counted, the first <see cref="InputLimits.MaxProblems"/> kept.</summary>
internal sealed class ProblemList
{
    private readonly Dictionary<string, List<string>> kept = [];

    public int Count { get; private set; }

    public void Add(string field, string message)
    {
        Count++;
        var key = field.Length == 0 ? "body" : field;
        if (kept.TryGetValue(key, out var messages))
        {
            messages.Add(message);
        }
        else if (kept.Count < InputLimits.MaxProblems)
        {
            kept[key] = [message];
        }
    }

    public HttpValidationProblemDetails ToProblemDetails(string title)
    {
        var problem = new HttpValidationProblemDetails(kept.ToDictionary(p => p.Key, p => p.Value.ToArray()))
        {
            Status = StatusCodes.Status400BadRequest,
            Title = title,
        };
        ProblemBounds.Apply(problem, []);
        problem.Extensions["problemCount"] = Count;
        return problem;
    }
}

/// <summary>
/// The last word on every problem an endpoint answers with: at most <see cref="InputLimits.MaxProblems"/> fields of at
/// most <see cref="InputLimits.MaxMessagesPerField"/> messages, the total in <c>problemCount</c>, and no text that
/// repeats the request's own values or holds an identity number.
/// </summary>
public static partial class ProblemBounds
{
    public const string NotValid = "the value is not valid";

    // Long enough for a rule's citation, which a refusal names (the child's own consent's is about 250 characters).
    private const int MaxMessageLength = 1_000;
    private const int MaxFieldLength = 120;

    public static void Apply(ProblemDetails problem, IReadOnlyCollection<string> inputs)
    {
        problem.Title = Clean(problem.Title, inputs, "The request is not valid");
        problem.Detail = problem.Detail is null ? null : Clean(problem.Detail, inputs, null);
        if (problem is not HttpValidationProblemDetails validation || validation.Errors.Count == 0)
        {
            return;
        }

        var total = validation.Errors.Sum(e => e.Value.Length);
        var bounded = validation.Errors
            .Take(InputLimits.MaxProblems)
            .Select(e => (Field: Clean(e.Key, inputs, "field", MaxFieldLength), Messages: e.Value.Take(InputLimits.MaxMessagesPerField).Select(m => Clean(m, inputs, NotValid)).ToArray()))
            .GroupBy(e => e.Field)
            .ToDictionary(g => g.Key, g => g.SelectMany(e => e.Messages).Distinct().ToArray());
        validation.Errors.Clear();
        foreach (var (field, messages) in bounded)
        {
            validation.Errors[field] = messages;
        }

        if (!problem.Extensions.ContainsKey("problemCount"))
        {
            problem.Extensions["problemCount"] = total;
        }
    }

    /// <summary>The text, or <paramref name="replacement"/> when it repeats an input or holds what may be an identity number.</summary>
    private static string Clean(string? text, IReadOnlyCollection<string> inputs, string? replacement, int maxLength = MaxMessageLength)
    {
        if (text is null)
        {
            return replacement ?? "";
        }

        if (text.Length > maxLength || MayHoldIdentityNumber(text) || inputs.Any(input => input.Length <= text.Length && text.Contains(input, StringComparison.OrdinalIgnoreCase)))
        {
            return replacement ?? "";
        }

        return text;
    }

    /// <summary>Ten or twelve digits, with or without a separator, that parse as a personal identity or co-ordination number.</summary>
    public static bool MayHoldIdentityNumber(string text)
    {
        foreach (Match match in DigitRun().Matches(text))
        {
            var digits = match.Value.Replace("-", "", StringComparison.Ordinal).Replace("+", "", StringComparison.Ordinal);
            if (digits.Length == 12 && PersonalIdentityNumber.TryParse(digits, out _, out _)
                || digits.Length == 10 && (PersonalIdentityNumber.TryParse("19" + digits, out _, out _) || PersonalIdentityNumber.TryParse("20" + digits, out _, out _)))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"\d{6,8}[-+]?\d{4}")]
    private static partial Regex DigitRun();
}
