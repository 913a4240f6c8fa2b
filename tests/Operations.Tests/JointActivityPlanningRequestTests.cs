using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

public sealed class JointActivityPlanningRequestTests
{
    [Fact]
    public void Validate_HomeVisitProposal_CarriesAttendanceAndContact()
    {
        var request = new JointActivityPlanningRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child, Activity = JointActivity.HomeVisit, Proposal = "Hembesök vecka 3.", Contact = "Tel 040-123" };

        var (draft, errors) = SendingApi.Validate(request, Mvc, Registry);

        errors.ShouldBeEmpty();
        draft!.Purpose.ShouldBe(Purpose.JointActivityPlanning);
        draft.Categories.ShouldBe([InformationCategory.IdentityAndContact, InformationCategory.Attendance], ignoreOrder: true);
    }

    [Fact]
    public void Validate_WithoutActivityOrProposal_NamesBoth()
    {
        var (draft, errors) = SendingApi.Validate(new JointActivityPlanningRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child }, Mvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["activity", "proposal"], ignoreOrder: true);
    }
}
