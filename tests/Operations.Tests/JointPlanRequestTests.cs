using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

public sealed class JointPlanRequestTests
{
    [Fact]
    public void Validate_PlanWithOptionalSections_ClaimsOnlyTheFilledCategories()
    {
        var request = new JointPlanRequest { ActingUser = ActingUser, ReceivingUnit = Preschool, SubjectId = Child, Plan = "BVC följer vikten, öppna förskolan erbjuder språkgrupp.", FollowUpOn = new DateOnly(2027, 2, 1), ChildHealth = "Språkförsening." };

        var (draft, errors) = SendingApi.Validate(request, Bvc, Registry);

        errors.ShouldBeEmpty();
        draft!.Purpose.ShouldBe(Purpose.JointPlan);
        draft.Categories.ShouldBe([InformationCategory.ParentingSupport, InformationCategory.ChildHealth], ignoreOrder: true);
    }

    [Fact]
    public void Validate_WithoutPlan_IsRejected()
    {
        var (draft, errors) = SendingApi.Validate(new JointPlanRequest { ActingUser = ActingUser, ReceivingUnit = Preschool, SubjectId = Child, ChildHealth = "x" }, Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["plan"]);
    }
}
