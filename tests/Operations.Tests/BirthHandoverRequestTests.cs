using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

public sealed class BirthHandoverRequestTests
{
    [Fact]
    public void Validate_SomeSections_CarriesOnlyThoseSectionsAndTheirCategories()
    {
        var request = new BirthHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Bvc, SubjectId = Child, Pregnancy = "Okomplicerad graviditet.", Newborn = "Frisk, 3 600 g.", ParentHealth = " " };

        var (draft, errors) = SendingApi.Validate(request, Mvc, Registry);

        errors.ShouldBeEmpty();
        draft!.Purpose.ShouldBe(Purpose.BirthHandover);
        draft.Categories.ShouldBe([InformationCategory.ChildHealth, InformationCategory.Pregnancy], ignoreOrder: true);
        var content = JsonDocument.Parse(draft.Content).RootElement;
        content.EnumerateObject().Select(p => p.Name).ShouldBe(["pregnancy", "newborn"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_NoSections_IsRejected()
    {
        var (draft, errors) = SendingApi.Validate(new BirthHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Bvc, SubjectId = Child }, Mvc, Registry);

        draft.ShouldBeNull();
        errors.Keys.ShouldBe(["pregnancy"]);
    }

    [Fact]
    public void Validate_ToANonChildHealthUnit_IsRejected()
    {
        var (draft, errors) = SendingApi.Validate(new BirthHandoverRequest { ActingUser = ActingUser, ReceivingUnit = Preventive, SubjectId = Child, Contact = "Tel 040-123" }, Mvc, Registry);

        draft.ShouldBeNull();
        errors["receivingUnit"].ShouldBe(["a birth handover goes to a child health unit"]);
    }
}
