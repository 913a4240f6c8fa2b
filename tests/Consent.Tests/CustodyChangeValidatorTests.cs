using FamiljecentralHub.Consent.Features.Consents;
using Shouldly;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>A custody change's fields, on the same terms as a consent's: bounded, and never repeating a number.</summary>
public sealed class CustodyChangeValidatorTests
{
    private const string Guardian = "198503152343";
    private static readonly ConsentValidator Validator = new(Registry, Bases);

    private static CustodyChangeRequest Valid() => new()
    {
        SubjectId = Child, GrantorId = Guardian, RecordedBy = "SE2321000016-BVC1", RecordingUnit = "bvc", JournalReference = "Vårdnadsbeslut 7",
    };

    [Fact]
    public void Validate_AGoodRequest_GivesTheNormalisedNumbersAndNow()
    {
        var (problems, subject, grantor, from) = Validator.ValidateCustodyChange(Valid(), Now);

        problems.Any.ShouldBeFalse(string.Join("; ", problems.ToDictionary().SelectMany(p => p.Value)));
        subject.ShouldBe(Child);
        grantor.ShouldBe(Guardian);
        from.ShouldBe(Now);
    }

    [Fact]
    public void Validate_BadNumbersAndAFarFuture_NamesTheFieldsAndRepeatsNoNumber()
    {
        var request = Valid() with { GrantorId = "198503152344", NoLongerGuardianFrom = Now.AddDays(60), RecordedBy = "198503152343" };

        var (problems, _, _, _) = Validator.ValidateCustodyChange(request, Now);
        var errors = problems.ToDictionary();

        errors.Keys.ShouldBe(["grantorId", "noLongerGuardianFrom", "recordedBy"], ignoreOrder: true);
        string.Join(" ", errors.SelectMany(e => e.Value)).ShouldNotContain("19850315234");
    }

    [Fact]
    public void Validate_TheSubjectsOwnNumberAsGrantor_IsRefused()
    {
        var (problems, _, _, _) = Validator.ValidateCustodyChange(Valid() with { GrantorId = Child }, Now);

        problems.ToDictionary().Keys.ShouldBe(["grantorId"]);
    }
}
