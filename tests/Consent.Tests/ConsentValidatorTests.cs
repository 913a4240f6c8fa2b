using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

public sealed class ConsentValidatorTests
{
    private static readonly ConsentValidator Validator = new(Registry, Bases);

    private static RecordConsentRequest Valid(string subject = Child, params GrantorRequest[] grantors) => new()
    {
        SubjectId = subject,
        Grantors = grantors.Length > 0 ? grantors : [new GrantorRequest { Role = GrantorRole.Guardian, Name = "Vårdnadshavare 1", Answer = ConsentAnswer.Yes }],
        Purposes = [Purpose.Referral],
        SendingUnits = ["bvc"],
        ReceivingUnits = ["social"],
        Categories = [InformationCategory.FamilySituation],
        ValidUntil = Now.AddMonths(6),
        Situation = "Föräldrastöd",
        JournalReference = "J-1",
        RecordedBy = "SE2321000016-BVC1",
        RecordingUnit = "bvc",
    };

    private static Dictionary<string, string[]> Errors(RecordConsentRequest r) => Validator.Validate(r, Guid.NewGuid(), 1, Now).Errors;

    [Fact]
    public void Validate_ValidRequest_GivesARecordValidFromNow()
    {
        var (record, errors) = Validator.Validate(Valid(), Guid.NewGuid(), 1, Now);

        errors.ShouldBeEmpty();
        record.ShouldNotBeNull().ValidFrom.ShouldBe(Now);
    }

    [Theory]
    [InlineData("202403152389", "wrong check digit")]
    [InlineData("2024031523", "12 digits")]
    [InlineData("202413152388", "valid date")]
    public void Validate_BadIdentityNumber_SaysWhyWithoutRepeatingIt(string subject, string expected)
    {
        var message = Errors(Valid() with { SubjectId = subject })["subjectId"].Single();

        message.ShouldContain(expected);
        message.ShouldNotContain(subject);
    }

    /// <summary>A window started while the subject was a child does not let a guardian consent for them once they are of age.</summary>
    [Fact]
    public void Validate_AGuardian_ForASubjectOfAgeToday_IsRejectedThoughTheWindowStartedEarlier()
    {
        var subject = Generators.WithCheckDigit(2008, 10, 15, 238);

        Errors(Valid(subject) with { ValidFrom = Now.AddDays(-330), ValidUntil = Now.AddDays(20) }).ShouldContainKey("grantors[0]");
        Errors(Valid(subject, new GrantorRequest { Role = GrantorRole.Subject, Name = "Den unga vuxna", Answer = ConsentAnswer.Yes, IdentityNumber = subject })
            with { ValidFrom = Now.AddDays(-330), ValidUntil = Now.AddDays(20) }).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_CoordinationNumber_IsAccepted()
    {
        Errors(Valid() with { SubjectId = "202403752385" }).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_NoEnd_IsRejected()
    {
        Errors(Valid() with { ValidUntil = null }).ShouldContainKey("validUntil");
    }

    [Fact]
    public void Validate_LongerThanTheMaximum_IsRejected()
    {
        Errors(Valid() with { ValidUntil = Now.AddDays(366) }).ShouldContainKey("validUntil");
        Errors(Valid() with { ValidUntil = Now.AddDays(365) }).ShouldBeEmpty();
        // Counted from when it is given, not from a start set ahead.
        Errors(Valid() with { ValidFrom = Now.AddYears(3), ValidUntil = Now.AddYears(3).AddDays(300) }).ShouldContainKey("validUntil");
        Errors(Valid() with { ValidFrom = Now.AddDays(30), ValidUntil = Now.AddDays(365) }).ShouldBeEmpty();
        // A change of a consent recorded under the older rule (its start ahead) can still be narrowed.
        Validator.Validate(Valid() with { ValidFrom = Now.AddDays(90), ValidUntil = Now.AddDays(400) }, Guid.NewGuid(), 2, Now).Errors.ShouldBeEmpty();
    }

    /// <summary>
    /// The maximum is twelve calendar months (domain.md section 3), not 365 days: a year over a 29 February is 366 days,
    /// and a consent for a year from 1 June 2027 was refused before.
    /// </summary>
    [Fact]
    public void Validate_TwelveMonthsOverALeapDay_IsAccepted_AndADayMoreIsNot()
    {
        var given = new DateTimeOffset(2027, 6, 1, 8, 0, 0, TimeSpan.Zero);
        ConsentValidation At(DateTimeOffset until) => Validator.Validate(Valid() with { ValidFrom = given, ValidUntil = until }, Guid.NewGuid(), 1, given);

        At(given.AddYears(1)).Errors.ShouldBeEmpty();
        At(given.AddYears(1).AddDays(1)).Errors.ShouldContainKey("validUntil");
        // Counted in Swedish time as well: a year from just after midnight in Sweden, 28 February in UTC.
        var swedishMidnight = new DateTimeOffset(2027, 2, 28, 23, 30, 0, TimeSpan.Zero);
        Validator.Validate(Valid() with { ValidFrom = swedishMidnight, ValidUntil = new DateTimeOffset(2028, 3, 1, 0, 30, 0, TimeSpan.FromHours(1)) },
            Guid.NewGuid(), 1, swedishMidnight).Errors.ShouldBeEmpty();
        // From Swedish midnight in summer time to Swedish midnight a year on in winter time.
        var summer = new DateTimeOffset(2027, 10, 30, 0, 0, 0, TimeSpan.FromHours(2));
        Validator.Validate(Valid() with { ValidFrom = summer, ValidUntil = new DateTimeOffset(2028, 10, 30, 0, 0, 0, TimeSpan.FromHours(1)) },
            Guid.NewGuid(), 1, summer).Errors.ShouldBeEmpty();
    }

    [Fact]
    public void Validate_TheSubjectRecordedWithAnotherPersonsNumber_IsRejected()
    {
        // Else a parent entered as "Subject" passes for the child's own consent, which no custody change reaches.
        GrantorRequest Self(string number) => new() { Role = GrantorRole.Subject, Name = "Förälder", Answer = ConsentAnswer.Yes, IdentityNumber = number };
        var errors = Errors(Valid(Adult, Self("198001012387")));

        errors.ShouldContainKey("grantors[0]");
        errors["grantors[0]"].ShouldNotContain(e => e.Contains("198001012387"));
        Errors(Valid(Adult, Self(Adult))).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_UnknownUnit_IsRejected()
    {
        Errors(Valid() with { ReceivingUnits = ["nowhere"] })["receivingUnits[0]"].ShouldContain("is not a unit the hub knows");
    }

    [Fact]
    public void Validate_FosterParent_MayNotConsent()
    {
        var errors = Errors(Valid(Child, new GrantorRequest { Role = GrantorRole.FosterParent, Name = "Familjehem", Answer = ConsentAnswer.Yes }));

        errors["grantors[0]"].ShouldContain(e => e.Contains("foster parents"));
    }

    [Theory]
    [InlineData(GrantorRole.Guardian)]
    [InlineData(GrantorRole.TemporaryGuardian)]
    [InlineData(GrantorRole.SpeciallyAppointedGuardian)]
    [InlineData(GrantorRole.GodMan)]
    [InlineData(GrantorRole.SocialCommittee)]
    public void Validate_ThoseWhoMayConsentForAChild_AreAccepted(GrantorRole role)
    {
        Errors(Valid(Child, new GrantorRequest { Role = role, Name = "N", Answer = ConsentAnswer.Yes })).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_ChildOf15_MayConsentAloneOnlyToSocialServicesOpenInterventions()
    {
        var self = new GrantorRequest { Role = GrantorRole.Subject, Name = "Tonåring", Answer = ConsentAnswer.Yes };

        Errors(Valid(Teenager, self)).ShouldBeEmpty();
        Errors(Valid(Teenager, self) with { ReceivingUnits = ["forskola"] }).ShouldContainKey("grantors[0]");
        Errors(Valid(Child, self)).ShouldContainKey("grantors[0]");
    }

    [Fact]
    public void Validate_Adult_ConsentsForThemself()
    {
        Errors(Valid(Adult, new GrantorRequest { Role = GrantorRole.Subject, Name = "Förälder", Answer = ConsentAnswer.Yes })).ShouldBeEmpty();
        Errors(Valid(Adult, new GrantorRequest { Role = GrantorRole.Guardian, Name = "Någon", Answer = ConsentAnswer.Yes })).ShouldContainKey("grantors[0]");
    }

    [Fact]
    public void Validate_BothGuardiansRequiredWithOneRecorded_IsRejected()
    {
        Errors(Valid() with { BothGuardiansRequired = true }).ShouldContainKey("grantors");
    }

    /// <summary>Each person answers once: a grantor listed twice (by number, or by name where none is numbered) is refused.</summary>
    [Fact]
    public void Validate_TheSameGrantorListedTwice_IsRejected()
    {
        GrantorRequest Guardian(string name, string? number = null) =>
            new() { Role = GrantorRole.Guardian, Name = name, Answer = ConsentAnswer.Yes, IdentityNumber = number };

        Errors(Valid(Child, Guardian("Vårdnadshavare 1", "198001012387"), Guardian("Vårdnadshavare 2", "198001012387"))).ShouldContainKey("grantors[1]");
        Errors(Valid(Child, Guardian("Vårdnadshavare 1"), Guardian("Vårdnadshavare 1")) with { BothGuardiansRequired = true }).ShouldContainKey("grantors[1]");
        // The same name as a reader reads it: a no-break or zero-width space, a compatibility form, or one entry numbered.
        Errors(Valid(Child, Guardian("Anna Berg"), Guardian("Anna\u00A0Berg"))).ShouldContainKey("grantors[1]");
        Errors(Valid(Child, Guardian("Anna Berg"), Guardian("Anna B\u200Berg"))).ShouldContainKey("grantors[1]");
        Errors(Valid(Child, Guardian("Anna Berg", "198001012387"), Guardian("ANNA BERG"))).ShouldContainKey("grantors[1]");
        Errors(Valid(Child, Guardian("Vårdnadshavare 1", "198001012387"), Guardian("Vårdnadshavare 2", "198002022385")) with { BothGuardiansRequired = true }).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_PartialAnswer_MustListCategoriesTheConsentProposes()
    {
        GrantorRequest Partial(params InformationCategory[] c) => new() { Role = GrantorRole.Guardian, Name = "V", Answer = ConsentAnswer.Partial, CoveredCategories = c };

        Errors(Valid(Child, Partial())).ShouldContainKey("grantors[0]");
        Errors(Valid(Child, Partial(InformationCategory.ChildHealth))).ShouldContainKey("grantors[0]");
        Errors(Valid(Child, Partial(InformationCategory.FamilySituation))).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_RecordingUnitNotNamedInTheConsent_IsRejected()
    {
        Errors(Valid() with { RecordingUnit = "mvc" }).ShouldContainKey("recordingUnit");
    }
}
