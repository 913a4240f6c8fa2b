using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

public sealed class CareHandoverRequestTests
{
    [Fact]
    public void Validate_AuthorityToOpenCareWithTheChildsStory_CarriesFindingsAndTheStory()
    {
        var request = new CareHandoverRequest
        {
            ActingUser = ActingUser,
            ReceivingUnit = Preventive,
            SubjectId = Child,
            Findings = "Konflikter hemma; förälders psykiska ohälsa.",
            ChildsOwnStory = "Jag är rädd när de bråkar.",
            ChildsRatings = [new ChildsRating { ProblemArea = "Bråk hemma", Rating = 3, Occasion = RatingOccasion.Start }],
        };

        var (draft, errors) = SendingApi.Validate(request, Intake, Registry);

        errors.ShouldBeEmpty();
        draft!.Purpose.ShouldBe(Purpose.CareHandover);
        draft.Categories.ShouldBe([InformationCategory.FamilySituation, InformationCategory.ChildsOwnStory], ignoreOrder: true);
        JsonDocument.Parse(draft.Content).RootElement.GetProperty("childsRatings")[0].GetProperty("occasion").GetString().ShouldBe("Start");
    }

    [Fact]
    public void Validate_OpenCareBackToTheAuthority_IsAccepted()
    {
        var request = new CareHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Intake, SubjectId = Child, InterventionOutcome = "Insatsen avslutad enligt plan." };

        var (draft, errors) = SendingApi.Validate(request, Preventive, Registry);

        errors.ShouldBeEmpty();
        draft!.Categories.ShouldBe([InformationCategory.ParentingSupport]);
    }

    [Fact]
    public void Validate_FromHealthCare_IsRejectedAsTheWrongPair()
    {
        var (draft, errors) = SendingApi.Validate(new CareHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child, Findings = "x" }, Bvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["receivingUnit"]);
    }

    [Fact]
    public void Validate_InvalidRating_NamesEachFieldOfIt()
    {
        var request = new CareHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child, ChildsRatings = [new ChildsRating { Rating = 11 }] };

        var (draft, errors) = SendingApi.Validate(request, Intake, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["childsRatings[0].problemArea", "childsRatings[0].rating", "childsRatings[0].occasion"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_NoSections_IsRejected()
    {
        var (_, errors) = SendingApi.Validate(new CareHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child }, Intake, Registry);

        errors.Keys.ShouldBe(["findings"]);
    }
}
