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

    [Fact]
    public void Validate_AWellFormedClaimedBasis_TravelsInTheDraft()
    {
        var basis = new ClaimedBasis { Basis = "harm-assessment", AssessmentReference = "BVC-journal 2026-11-28 anteckning 4", Assessor = "SE2321000016-BVC9" };

        var (draft, errors) = SendingApi.Validate(Valid with { Basis = basis }, Bvc, Registry);

        errors.ShouldBeEmpty();
        draft!.Basis.ShouldBe(basis);
    }

    /// <summary>A claimed basis's shape is checked before it travels to the gate and on to the receiver; nothing is repeated.</summary>
    [Theory]
    [InlineData("basis.basis", "Harm Assessment", null, null)]
    [InlineData("basis.basis", "", null, null)]
    [InlineData("basis.assessmentReference", "harm-assessment", "x", null)]
    [InlineData("basis.assessor", "harm-assessment", "J-1", "Anna Andersson")]
    [InlineData("basis.assessor", "harm-assessment", "J-1", "SE2403152388-BVC9")]
    public void Validate_AMalformedClaimedBasis_IsRefusedByField(string field, string id, string? reference, string? assessor)
    {
        var basis = new ClaimedBasis { Basis = id, AssessmentReference = reference == "x" ? new string('x', 201) : reference, Assessor = assessor };

        var (draft, errors) = SendingApi.Validate(Valid with { Basis = basis }, Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe([field]);
        string.Join(" ", errors[field]).ShouldNotContain(assessor ?? "Harm Assessment");
    }
}
