using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

public sealed class ReportOfConcernRequestTests
{
    [Fact]
    public void Validate_WithIdentityNumber_GivesADraftForTheIntake()
    {
        var request = new ReportOfConcernRequest { ActingUser = ActingUser, ReceivingUnit = Intake, SubjectId = Child, Concern = "Blåmärken på armarna.", ChildsOwnWords = "Pappa blir arg." };

        var (draft, errors) = SendingApi.Validate(request, Bvc, Registry);

        errors.ShouldBeEmpty();
        draft!.Purpose.ShouldBe(Purpose.ReportOfConcern);
        draft.SubjectId.ShouldBe(Child);
        draft.Categories.ShouldBe([InformationCategory.FamilySituation, InformationCategory.ChildsOwnStory], ignoreOrder: true);
    }

    [Fact]
    public void Validate_ChildKnownOnlyByName_HasNoSubjectIdAndTheNameOnlyInTheBody()
    {
        var request = new ReportOfConcernRequest
        {
            ActingUser = ActingUser,
            ReceivingUnit = Intake,
            Child = new ChildDescription { Name = "Alva", Description = "Omkring 3 år, kommer med mormor på tisdagar" },
            Concern = "Hungrig och frusen vid varje besök.",
        };

        var (draft, errors) = SendingApi.Validate(request, Preschool, Registry);

        errors.ShouldBeEmpty();
        draft!.SubjectId.ShouldBeNull("the sender gives it a stand-in derived from the message id");
        draft.Categories.ShouldBe([InformationCategory.IdentityAndContact, InformationCategory.FamilySituation], ignoreOrder: true);
        JsonDocument.Parse(draft.Content).RootElement.GetProperty("child").GetProperty("name").GetString().ShouldBe("Alva");
    }

    [Fact]
    public void Validate_NeitherNumberNorName_AsksForOne()
    {
        var (draft, errors) = SendingApi.Validate(new ReportOfConcernRequest { ActingUser = ActingUser, ReceivingUnit = Intake, Concern = "Oro." }, Preschool, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["subjectId"]);
    }

    [Fact]
    public void Validate_NameAndAnInvalidNumber_RejectsTheNumber()
    {
        var request = new ReportOfConcernRequest { ActingUser = ActingUser, ReceivingUnit = Intake, SubjectId = "20240315", Child = new ChildDescription { Name = "Alva" }, Concern = "Oro." };

        var (_, errors) = SendingApi.Validate(request, Preschool, Registry);

        errors.Keys.ShouldBe(["subjectId"]);
    }

    [Fact]
    public void Validate_ToPreventiveSocialServices_IsRejected()
    {
        var (draft, errors) = SendingApi.Validate(new ReportOfConcernRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child, Concern = "Oro." }, Bvc, Registry);

        draft.ShouldBeNull();
        errors["receivingUnit"].ShouldBe(["a report of concern goes to the social committee's intake unit"]);
    }

    [Fact]
    public void Validate_WithoutConcern_IsRejected()
    {
        var (_, errors) = SendingApi.Validate(new ReportOfConcernRequest { ActingUser = ActingUser, ReceivingUnit = Intake, SubjectId = Child }, Bvc, Registry);

        errors.Keys.ShouldBe(["concern"]);
    }
}
