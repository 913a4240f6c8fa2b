using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

public sealed class ReferralRequestTests
{
    private static readonly ReferralRequest Valid = new()
    {
        ActingUser = ActingUser,
        ReceivingUnit = Preventive,
        SubjectId = "20240315-2388",
        Categories = [InformationCategory.FamilySituation, InformationCategory.ParentingSupport, InformationCategory.FamilySituation],
        Reason = "Föräldrarna önskar stöd.",
    };

    [Fact]
    public void Validate_CompleteReferral_GivesADraftWithTheNamedCategoriesOnce()
    {
        var (draft, errors) = SendingApi.Validate(Valid, Bvc, Registry);

        errors.ShouldBeEmpty();
        draft.ShouldNotBeNull();
        draft.Purpose.ShouldBe(Purpose.Referral);
        draft.SubjectId.ShouldBe(Child);
        draft.Categories.ShouldBe([InformationCategory.FamilySituation, InformationCategory.ParentingSupport]);
        JsonDocument.Parse(draft.Content).RootElement.GetProperty("reason").GetString().ShouldBe("Föräldrarna önskar stöd.");
    }

    [Fact]
    public void Validate_EmptyReferral_NamesEveryMissingField()
    {
        var (draft, errors) = SendingApi.Validate(new ReferralRequest(), Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["receivingUnit", "subjectId", "actingUser", "categories", "reason"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_InvalidIdentityNumber_ErrorNeverRepeatsIt()
    {
        var (draft, errors) = SendingApi.Validate(Valid with { SubjectId = "202403152389" }, Bvc, Registry);

        draft.ShouldBeNull();
        errors["subjectId"].ShouldHaveSingleItem().ShouldNotContain("202403152389");
    }

    [Fact]
    public void Validate_ToTheIntakeUnit_IsRejectedAsTheWrongReceiver()
    {
        var (draft, errors) = SendingApi.Validate(Valid with { ActingUser = ActingUser, ReceivingUnit = Intake }, Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["receivingUnit"]);
    }

    [Fact]
    public void Validate_ToItself_IsRejected()
    {
        var (_, errors) = SendingApi.Validate(Valid with { ActingUser = ActingUser, ReceivingUnit = Bvc }, Bvc, Registry);

        errors["receivingUnit"].ShouldBe(["a unit cannot send to itself"]);
    }
}
