using FamiljecentralHub.ServiceDefaults.Input;
using Microsoft.AspNetCore.Http;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>The shared input guard's rules (issue 10): the characters it refuses and the bounds of every problem it answers with.</summary>
public sealed class InputLimitsTests
{
    [Theory]
    [InlineData("a\u0000b")]
    [InlineData("\u0001")]
    [InlineData("\u001b[2J")]
    [InlineData("\u007f")]
    [InlineData("\u0085")]
    [InlineData("\u202e")]
    [InlineData("\u2066")]
    [InlineData("\ufdd0")]
    [InlineData("\ufffe")]
    [InlineData("\uffff")]
    public void HasRefusedCharacter_ControlsNoncharactersAndOverrides_AreRefused(string text) =>
        InputLimits.HasRefusedCharacter(text).ShouldBeTrue();

    // Built at run time: an attribute cannot hold a lone surrogate (the compiler writes it as U+FFFD).
    [Fact]
    public void HasRefusedCharacter_LoneSurrogates_AreRefused()
    {
        foreach (var text in (string[])[new(['a', '\ud800', 'b']), new(['a', '\udc00']), new(['\ud800']), new(['\udc00', '\ud800'])])
        {
            InputLimits.HasRefusedCharacter(text).ShouldBeTrue();
        }
    }

    [Theory]
    [InlineData("Blåmärken på armarna.")]
    [InlineData("Rad ett\r\nRad två\n\tindraget")]
    [InlineData("عربي \u200f نص")]
    [InlineData("Emoji 🙂 and 𝄞")]
    [InlineData("")]
    public void HasRefusedCharacter_TextWithLinesMarksAndPairs_IsAccepted(string text) =>
        InputLimits.HasRefusedCharacter(text).ShouldBeFalse();

    [Fact]
    public void ProblemBounds_ThousandsOfProblems_KeepsTheFirstAndCountsAll()
    {
        var errors = Enumerable.Range(0, 300_000).ToDictionary(i => $"childsRatings[{i}].rating", _ => new[] { "rate from 1 to 10" });
        var problem = new HttpValidationProblemDetails(errors);

        ProblemBounds.Apply(problem, []);

        problem.Errors.Count.ShouldBe(InputLimits.MaxProblems);
        problem.Extensions["problemCount"].ShouldBe(300_000);
    }

    [Fact]
    public void ProblemBounds_MessagesRepeatingTheInputOrAnIdentityNumber_AreReplaced()
    {
        var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            ["receivingUnit"] = ["there is no unit 'Ingegerd Planterad'"],
            ["subjectId"] = ["19370115-9810 is not known"],
            ["reason"] = ["say why the family is referred"],
        })
        { Detail = "unit 3701159810 is unknown" };

        ProblemBounds.Apply(problem, ["Ingegerd Planterad"]);

        problem.Errors["receivingUnit"].ShouldBe([ProblemBounds.NotValid]);
        problem.Errors["subjectId"].ShouldBe([ProblemBounds.NotValid]);
        problem.Errors["reason"].ShouldBe(["say why the family is referred"]);
        problem.Detail.ShouldBe("");
    }
}
