using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Input;
using Microsoft.AspNetCore.Http;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

/// <summary>The sending API's own checks and the shared input guard's rules (issue 10, findings 3, 5 and 6).</summary>
public sealed class InputHygieneTests
{
    private const string PlantedNumber = "193701159810";

    private static readonly ReferralRequest Valid = new()
    {
        ActingUser = ActingUser,
        ReceivingUnit = Preventive,
        SubjectId = Child,
        Categories = [InformationCategory.FamilySituation],
        Reason = "Föräldrarna önskar stöd.",
    };

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(PlantedNumber)]
    [InlineData("19370115-9810")]
    [InlineData("SE2321000016-" + PlantedNumber)]
    [InlineData("SE2321000016-3701159810")]
    [InlineData("Anna Andersson")]
    [InlineData("SE2321000016-MVC1\n")]
    [InlineData("SE9999999999-")]
    [InlineData("SE232100001-BVC1")]
    public void Validate_ActingUserNotAnHsaId_IsAnErrorThatDoesNotRepeatIt(string? actingUser)
    {
        var (draft, errors) = SendingApi.Validate(Valid with { ActingUser = actingUser }, Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["actingUser"]);
        if (!string.IsNullOrWhiteSpace(actingUser))
        {
            errors["actingUser"].ShouldAllBe(message => !message.Contains(actingUser.Trim()));
        }
    }

    [Fact]
    public void Validate_ActingUser200Kb_IsAnError()
    {
        var (draft, errors) = SendingApi.Validate(Valid with { ActingUser = "SE2321000016-" + new string('A', 200_000) }, Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["actingUser"]);
    }

    [Theory]
    [InlineData("SE2321000016-BVC1")]
    [InlineData("SE162321000255-O10437")]
    [InlineData("SE2321000016-1003")]
    public void Validate_ActingUserAnHsaId_IsAccepted(string actingUser)
    {
        var (draft, errors) = SendingApi.Validate(Valid with { ActingUser = actingUser }, Bvc, Registry);

        errors.ShouldBeEmpty();
        draft!.ActingUser.ShouldBe(actingUser);
    }

    [Theory]
    [InlineData(PlantedNumber)]
    [InlineData("Ingegerd Planterad")]
    public void Validate_UnknownReceivingUnit_IsAnErrorThatDoesNotRepeatIt(string receivingUnit)
    {
        var (_, errors) = SendingApi.Validate(Valid with { ReceivingUnit = receivingUnit }, Bvc, Registry);

        errors["receivingUnit"].ShouldAllBe(message => !message.Contains(receivingUnit));
    }

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
