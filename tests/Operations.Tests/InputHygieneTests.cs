using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using FamiljecentralHub.ServiceDefaults.Identity;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

/// <summary>The sending API's own checks (issue 10); the shared input guard's rules are ServiceDefaults.Tests' InputLimitsTests.</summary>
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
}
