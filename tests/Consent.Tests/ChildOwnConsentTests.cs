using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// Issue 18: a child of 15 may consent alone to open interventions from social services (SoL 3:6a in the 2001 act), and
/// to nothing else. The rows, once for recording and once at the gate, which must hold even for a consent already stored.
/// </summary>
public sealed class ChildOwnConsentTests
{
    /// <summary>Turns 15 on <see cref="TestOrganisation.Now"/>'s date.</summary>
    private const string FifteenToday = "201111222343";

    /// <summary>Turns 15 the day after <see cref="TestOrganisation.Now"/>.</summary>
    private const string FifteenTomorrow = "201111232342";

    private static readonly ConsentValidator Validator = new(Registry, Bases);

    private static readonly GrantorRequest Self = new() { Role = GrantorRole.Subject, Name = "Tonåringen", Answer = ConsentAnswer.Yes };

    private static RecordConsentRequest Request(string subject, Purpose purpose, string from, string to) => new()
    {
        SubjectId = subject,
        Grantors = [Self],
        Purposes = [purpose],
        SendingUnits = [from],
        ReceivingUnits = [to],
        Categories = [InformationCategory.FamilySituation],
        ValidUntil = Now.AddMonths(6),
        Situation = "Stödsamtal",
        JournalReference = "J-1",
        RecordedBy = "SE2321000016-BVC1",
        RecordingUnit = from,
    };

    private static ConsentRecord OwnConsent(string subject, Purpose purpose, string from, string to, DateTimeOffset? givenAt = null) =>
        ConsentFor(from, to, purpose, grantors: [new Grantor(GrantorRole.Subject, "Tonåringen", ConsentAnswer.Yes)]) with
        {
            SubjectId = subject,
            ValidFrom = givenAt ?? Now.AddDays(-30),
            RecordedAt = givenAt ?? Now.AddDays(-30),
        };

    private static SubmitDisclosure DisclosureAbout(string subject, string from, string to, Purpose purpose) =>
        Disclosure(from, to, purpose) with { SubjectId = subject };

    /// <summary>
    /// A birthday begins at Swedish midnight: a consent given at half past midnight in Sweden on the fifteenth birthday
    /// (still the day before in UTC) is the fifteen-year-old's own, when recorded and when the gate relies on it.
    /// </summary>
    [Fact]
    public void OwnConsent_GivenJustAfterSwedishMidnightOnTheBirthday_IsOfTheBirthday()
    {
        var halfPastMidnightInSweden = new DateTimeOffset(2026, 11, 21, 23, 30, 0, TimeSpan.Zero);

        Validator.Validate(Request(FifteenToday, Purpose.Referral, "bvc", "social"), Guid.NewGuid(), 1, halfPastMidnightInSweden).Errors.ShouldBeEmpty();
        var consent = OwnConsent(FifteenToday, Purpose.Referral, "bvc", "social", givenAt: halfPastMidnightInSweden);
        Gate.Decide(DisclosureAbout(FifteenToday, "bvc", "social", Purpose.Referral), [consent], Now).Permitted.ShouldBeTrue();
    }

    [Theory]
    [InlineData(Purpose.Referral, "social", true)]               // an open intervention from preventive social services
    [InlineData(Purpose.JointPlan, "social", false)]
    [InlineData(Purpose.JointActivityPlanning, "social", false)]
    [InlineData(Purpose.Referral, "forskola", false)]            // the receiver is not preventive social services
    [InlineData(Purpose.JointPlan, "forskola", false)]
    public void Record_TeenagersOwnConsent_IsAcceptedOnlyForWhatTheLawLetsThemConsentTo(Purpose purpose, string to, bool accepted)
    {
        var errors = Validator.Validate(Request(Teenager, purpose, "bvc", to), Guid.NewGuid(), 1, Now).Errors;

        if (accepted)
        {
            errors.ShouldBeEmpty();
        }
        else
        {
            errors.ShouldContainKey("grantors[0]");
            var message = string.Join(" ", errors["grantors[0]"]);
            message.ShouldContain("child-own-consent");
            message.ShouldNotContain(Teenager);
            if (to == "social")
            {
                message.ShouldContain(purpose.ToString(), customMessage: "the refusal names the purpose");
            }
        }
    }

    [Fact]
    public void Record_BirthHandoverOnAChildsOwnConsent_IsRefused()
    {
        var errors = Validator.Validate(Request(Teenager, Purpose.BirthHandover, "mvc", "bvc"), Guid.NewGuid(), 1, Now).Errors;

        errors.ShouldContainKey("grantors[0]");
    }

    [Fact]
    public void Record_OnTheFifteenthBirthday_IsAcceptedAndTheDayBeforeIsNot()
    {
        Validator.Validate(Request(FifteenToday, Purpose.Referral, "bvc", "social"), Guid.NewGuid(), 1, Now).Errors.ShouldBeEmpty();
        Validator.Validate(Request(FifteenTomorrow, Purpose.Referral, "bvc", "social"), Guid.NewGuid(), 1, Now).Errors.ShouldContainKey("grantors[0]");
    }

    [Theory]
    [InlineData(Purpose.Referral, "social", true)]
    [InlineData(Purpose.JointPlan, "social", false)]
    [InlineData(Purpose.JointActivityPlanning, "social", false)]
    [InlineData(Purpose.Referral, "forskola", false)]
    [InlineData(Purpose.JointActivityPlanning, "forskola", false)]
    public void Decide_ConsentAlreadyStored_CoversOnlyWhatTheLawLetsAChildConsentTo(Purpose purpose, string to, bool permitted)
    {
        var decision = Gate.Decide(DisclosureAbout(Teenager, "bvc", to, purpose), [OwnConsent(Teenager, purpose, "bvc", to)], Now);

        decision.Permitted.ShouldBe(permitted, string.Join(" | ", decision.Reasons));
        if (!permitted)
        {
            decision.Reasons.ShouldContain(r => r.Contains("child's own consent", StringComparison.Ordinal) && r.Contains(purpose.ToString(), StringComparison.Ordinal));
            decision.Reasons.ShouldAllBe(r => !r.Contains(Teenager));
        }
    }

    [Fact]
    public void Decide_BirthHandoverOnAChildsOwnConsent_IsRefused()
    {
        var decision = Gate.Decide(DisclosureAbout(Teenager, "mvc", "bvc-other", Purpose.BirthHandover), [OwnConsent(Teenager, Purpose.BirthHandover, "mvc", "bvc-other")], Now);

        decision.Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_GivenBeforeTheFifteenthBirthday_IsRefusedEvenAfterIt()
    {
        // Given (and recorded) the day before the birthday, asked for on it: the age that counts is the age when it was given.
        var consent = OwnConsent(FifteenToday, Purpose.Referral, "bvc", "social", givenAt: Now.AddDays(-1));

        var decision = Gate.Decide(DisclosureAbout(FifteenToday, "bvc", "social", Purpose.Referral), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain(r => r.Contains("turned 15", StringComparison.Ordinal));
    }

    [Fact]
    public void Decide_GivenOnTheFifteenthBirthday_IsPermitted()
    {
        var consent = OwnConsent(FifteenToday, Purpose.Referral, "bvc", "social", givenAt: Now.AddHours(-1));

        Gate.Decide(DisclosureAbout(FifteenToday, "bvc", "social", Purpose.Referral), [consent], Now).Permitted.ShouldBeTrue();
    }

    [Fact]
    public void Decide_ChildsOwnYesBesideAGuardiansYes_StillCoversWhatTheGuardianConsentedTo()
    {
        var consent = OwnConsent(Teenager, Purpose.JointPlan, "bvc", "social") with
        {
            Grantors = [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes), new Grantor(GrantorRole.Subject, "Tonåringen", ConsentAnswer.Yes)],
        };

        Gate.Decide(DisclosureAbout(Teenager, "bvc", "social", Purpose.JointPlan), [consent], Now).Permitted.ShouldBeTrue();
    }

    [Fact]
    public void Decide_AnAdultsOwnConsent_IsNotLimitedByTheChildRule()
    {
        var consent = OwnConsent(Adult, Purpose.JointPlan, "mvc", "forskola");

        Gate.Decide(DisclosureAbout(Adult, "mvc", "forskola", Purpose.JointPlan), [consent], Now).Permitted.ShouldBeTrue();
    }
}
