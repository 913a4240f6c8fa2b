using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using Shouldly;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

public sealed class SecrecyGateTests
{
    /// <summary>Table 1 of the Skåne guidance: who may share without consent, and who needs it.</summary>
    [Theory]
    [InlineData(1, "bvc", "bvc-team2", false)]      // same unit, same centre
    [InlineData(2, "bvc", "bvc-private-a", true)]   // different principals at one centre
    [InlineData(3, "bvc", "bvc-other", true)]       // another public BVC, another care unit
    [InlineData(4, "mvc", "bvc", false)]            // midwife to BHV nurse, same care unit
    [InlineData(5, "forskola", "forskola-2", false)] // same committee, same branch
    [InlineData(6, "social", "forskola", true)]     // other committee and branch
    [InlineData(7, "social", "bvc", true)]          // municipality to region
    [InlineData(7, "forskola", "mvc", true)]        // municipality to region
    [InlineData(8, "bvc-private-a", "bvc-private-b", true)] // private to private: consent or a PSL 6:12 assessment
    public void Decide_Table1Row_NeedsConsentExactlyWhenTheGuidanceSays(int row, string from, string to, bool consentNeeded)
    {
        var withoutConsent = Gate.Decide(Disclosure(from, to), [], Now);
        withoutConsent.Permitted.ShouldBe(!consentNeeded, $"Table 1 row {row}");

        var withConsent = Gate.Decide(Disclosure(from, to), [ConsentFor(from, to)], Now);
        withConsent.Permitted.ShouldBeTrue($"Table 1 row {row} with consent");
        withConsent.Basis.ShouldBe(consentNeeded ? "consent" : "same-secrecy-area");
    }

    /// <summary>
    /// Custody ends at 18 (domain.md section 3: an adult consents for themself): a guardian's yes, given while the subject
    /// was a child, is not relied on from the subject's 18th birthday, however long the consent's window runs.
    /// </summary>
    /// <summary>
    /// Any no means no consent (domain.md section 3), and the other guardian's no answered the yes given before it: staff
    /// must give the no an end too, but when it lapses the earlier yes is not relied on again. A yes given after the no
    /// (asked again, as the guidance says) is the newer word.
    /// </summary>
    [Fact]
    public void Decide_AnotherGuardiansNo_StillAnswersTheEarlierYes_AfterItsWindowEnds()
    {
        var yes = ConsentFor("bvc", "social") with { ValidFrom = Now.AddDays(-60), RecordedAt = Now.AddDays(-60) };
        var no = ConsentFor("bvc", "social", grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.No)]) with
        {
            ValidFrom = Now.AddDays(-30), RecordedAt = Now.AddDays(-30), ValidUntil = Now.AddDays(-1),
        };

        var decision = Gate.Decide(Disclosure("bvc", "social"), [yes, no], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("a grantor answered no on 2026-10-23, after this consent was given");
        var askedAgain = ConsentFor("bvc", "social") with { ValidFrom = Now.AddHours(-1), RecordedAt = Now.AddHours(-1) };
        Gate.Decide(Disclosure("bvc", "social"), [yes, no, askedAgain], Now).Permitted.ShouldBeTrue("a yes given after the no is the newer word");
    }

    /// <summary>
    /// A no recorded as a later version of an older consent (a receiver's narrowing keeps the consent's start) was said
    /// when that version was recorded: it still answers the yes given between the consent's start and the no.
    /// </summary>
    [Fact]
    public void Decide_ANoRecordedAsALaterVersion_AnswersTheYesGivenBeforeIt_NotFromTheConsentsStart()
    {
        var older = ConsentFor("bvc", "social") with { ValidFrom = Now.AddDays(-90), RecordedAt = Now.AddDays(-90), ValidUntil = Now.AddDays(-1) };
        var no = older with
        {
            Version = 2, RecordedAt = Now.AddDays(-30), Grantors = [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.No)],
        };
        var yes = ConsentFor("bvc", "social") with { ValidFrom = Now.AddDays(-60), RecordedAt = Now.AddDays(-60) };

        Gate.Decide(Disclosure("bvc", "social"), [no, yes], Now).Permitted.ShouldBeFalse("the yes was given before the no");
        Gate.Decide(Disclosure("bvc", "social"), [no with { ValidFrom = Now.AddDays(-200) }, yes], Now).Permitted
            .ShouldBeFalse("moving the consent's start back does not lift the no");
    }

    [Fact]
    public void Decide_AGuardiansConsent_StopsCountingWhenTheSubjectComesOfAge()
    {
        var subject = Generators.WithCheckDigit(2008, 10, 15, 238);
        var consent = ConsentFor("bvc", "social") with { SubjectId = subject, ValidFrom = Now.AddDays(-330), RecordedAt = Now.AddDays(-330) };
        var disclosure = Disclosure("bvc", "social") with { SubjectId = subject };

        var before = Gate.Decide(disclosure, [consent], new DateTimeOffset(2026, 10, 14, 12, 0, 0, TimeSpan.Zero));
        var after = Gate.Decide(disclosure, [consent], Now);
        var ownConsent = Gate.Decide(disclosure, [consent with { Grantors = [new Grantor(GrantorRole.Subject, "Den unga vuxna", ConsentAnswer.Yes)] }], Now);

        before.Permitted.ShouldBeTrue("the subject was 17");
        Gate.Decide(disclosure, [consent], new DateTimeOffset(2026, 10, 14, 21, 30, 0, TimeSpan.Zero)).Permitted.ShouldBeTrue("23:30 in Sweden, the day before");
        Gate.Decide(disclosure, [consent], new DateTimeOffset(2026, 10, 14, 22, 30, 0, TimeSpan.Zero)).Permitted.ShouldBeFalse("00:30 on the birthday in Sweden");
        after.Permitted.ShouldBeFalse();
        after.Reasons.ShouldContain("grantor 1 (Guardian) consented for a child who is now of age");
        ownConsent.Permitted.ShouldBeTrue("an adult consents for themself");
    }

    [Fact]
    public void Decide_NoConsent_RefusesWithAReasonTheSenderCanActOn()
    {
        var decision = Gate.Decide(Disclosure("bvc", "social"), [], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("no consent covers Referral from unit bvc to unit social");
    }

    [Fact]
    public void Decide_ConsentMissingACategory_RefusesNamingTheCategory()
    {
        var consent = ConsentFor("bvc", "social", categories: [InformationCategory.FamilySituation]);

        var decision = Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.FamilySituation, InformationCategory.ChildHealth]), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("no consent covers category ChildHealth");
    }

    [Fact]
    public void Decide_ExpiredConsent_RefusesWithTheExpiryDate()
    {
        var consent = ConsentFor("bvc", "social", validUntil: new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero));

        var decision = Gate.Decide(Disclosure("bvc", "social"), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("consent expired 2026-10-01");
    }

    [Fact]
    public void Decide_RevokedConsent_Refuses()
    {
        var decision = Gate.Decide(Disclosure("bvc", "social"), [ConsentFor("bvc", "social", state: ConsentState.Revoked)], Now);

        decision.Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_ConsentForAnotherPurposeOrPair_Refuses()
    {
        Gate.Decide(Disclosure("bvc", "social", Purpose.JointPlan), [ConsentFor("bvc", "social")], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("mvc", "social"), [ConsentFor("bvc", "social")], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "forskola"), [ConsentFor("bvc", "social")], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_OneGuardianSaidNo_RefusesEvenWhenTheOtherSaidYes()
    {
        var consent = ConsentFor("bvc", "social", grantors:
        [
            new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes),
            new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.No),
        ]);

        var decision = Gate.Decide(Disclosure("bvc", "social"), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("grantor 2 (Guardian) answered no");
    }

    [Fact]
    public void Decide_BothGuardiansRequiredButOneAnswered_Refuses()
    {
        var consent = ConsentFor("bvc", "social", both: true);

        Gate.Decide(Disclosure("bvc", "social"), [consent], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_BothGuardiansRequiredAndBothSaidYes_Permits()
    {
        var consent = ConsentFor("bvc", "social", both: true, grantors:
        [
            new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes),
            new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Yes),
        ]);

        Gate.Decide(Disclosure("bvc", "social"), [consent], Now).Permitted.ShouldBeTrue();
    }

    [Fact]
    public void Decide_PartialConsent_CoversOnlyItsCategories()
    {
        var consent = ConsentFor("bvc", "social", grantors:
            [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Partial, [InformationCategory.ParentingSupport])]);

        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.ParentingSupport]), [consent], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.FamilySituation]), [consent], Now).Permitted.ShouldBeFalse();
    }

    /// <summary>
    /// One guardian's yes to everything, the other's answer in part recorded as a consent of its own: recorded together,
    /// the answers are intersected; recorded apart, the partial answer still refuses what it leaves out (domain.md
    /// section 3, "a disclosure that carries a category outside it is not covered").
    /// </summary>
    [Fact]
    public void Decide_TheOtherGuardiansAnswerInPart_InAConsentOfItsOwn_LimitsTheFirstsYes()
    {
        var categories = new[] { InformationCategory.FamilySituation, InformationCategory.ParentingSupport };
        var yes = ConsentFor("bvc", "social", categories: categories,
            grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes)]);
        var partly = ConsentFor("bvc", "social", categories: categories,
            grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Partial, [InformationCategory.ParentingSupport])]);

        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.FamilySituation]), [yes, partly], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.FamilySituation]), [partly, yes], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.ParentingSupport]), [yes, partly], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.FamilySituation]), [yes], Now).Permitted.ShouldBeTrue();
    }

    /// <summary>An answer in part says nothing of a category its consent never asked about: that one stands on the other consent.</summary>
    [Fact]
    public void Decide_AnAnswerInPart_DoesNotRefuseACategoryItsConsentNeverAskedAbout()
    {
        var yes = ConsentFor("bvc", "social", categories: [InformationCategory.ChildHealth, InformationCategory.FamilySituation],
            grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes)]);
        var partly = ConsentFor("bvc", "social", categories: [InformationCategory.FamilySituation, InformationCategory.ParentingSupport],
            grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Partial, [InformationCategory.ParentingSupport])]);

        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.ChildHealth]), [yes, partly], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.FamilySituation]), [yes, partly], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_ReportOfConcernWithARecordedNo_IsNeverBlocked()
    {
        var no = ConsentFor("bvc", "intake", Purpose.ReportOfConcern,
            grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.No)]);

        var decision = Gate.Decide(Disclosure("bvc", "intake", Purpose.ReportOfConcern), [no], Now);

        decision.Permitted.ShouldBeTrue();
        decision.Basis.ShouldBe("report-of-concern");
        decision.FlaggedForReview.ShouldBeTrue();
    }

    [Fact]
    public void Decide_ReportOfConcernToAnyoneButIntake_IsRefused()
    {
        Gate.Decide(Disclosure("bvc", "social", Purpose.ReportOfConcern), [], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "social", basis: new ClaimedBasis { Basis = "report-of-concern" }), [], Now).Permitted.ShouldBeFalse();
    }

    /// <summary>
    /// A report of concern is never blocked (domain.md section 4.1): one submitted the evening before the child's 18th
    /// birthday and decided after midnight, the consent database down in between, is still the report about a child its
    /// sender made. It was refused as about an adult before. A submission time further back than the gate ever holds a
    /// message is not taken on trust.
    /// </summary>
    [Fact]
    public void Decide_ReportOfConcernSubmittedTheDayBeforeTheChildComesOfAge_IsStillAMandatoryReport()
    {
        const string TurnsEighteen = "200811282383"; // 18 on 28 November 2026
        var evening = new DateTimeOffset(2026, 11, 27, 22, 50, 0, TimeSpan.Zero); // 23:50 in Sweden
        var report = Disclosure("bvc", "intake", Purpose.ReportOfConcern, [InformationCategory.ChildHealth]) with
        {
            SubjectId = TurnsEighteen, SubmittedAt = evening,
        };

        var decided = Gate.Decide(report, [], evening.AddMinutes(30));
        var backdated = Gate.Decide(report with { SubmittedAt = evening.AddDays(-30) }, [], evening.AddDays(1));

        decided.Permitted.ShouldBeTrue(string.Join(" | ", decided.Reasons));
        decided.Basis.ShouldBe("report-of-concern");
        Gate.Decide(report with { SubmittedAt = evening.AddMinutes(30) }, [], evening.AddMinutes(30)).Permitted.ShouldBeFalse("made on the birthday itself");
        backdated.Permitted.ShouldBeFalse();
    }

    /// <summary>
    /// The duty to report is about a child (SoL 14:1): a "report of concern" about the expectant parent herself does not
    /// override her own recorded "no", claimed as a report of concern or not; for the expected child, the protective basis
    /// with its written justification lets it through, recorded under that basis and flagged.
    /// </summary>
    [Fact]
    public void Decide_ReportOfConcernAboutAnAdult_IsNoMandatoryReport()
    {
        var herNo = ConsentFor("mvc", "intake", Purpose.ReportOfConcern, grantors: [new Grantor(GrantorRole.Subject, "Den blivande mamman", ConsentAnswer.No)])
            with { SubjectId = Adult };
        var report = Disclosure("mvc", "intake", Purpose.ReportOfConcern, [InformationCategory.Pregnancy, InformationCategory.ParentHealth]) with { SubjectId = Adult };

        var unclaimed = Gate.Decide(report, [herNo], Now);
        var claimed = Gate.Decide(report with { ClaimedBasis = new ClaimedBasis { Basis = "report-of-concern" } }, [herNo], Now);
        var protective = Gate.Decide(report with
        {
            ClaimedBasis = new ClaimedBasis { Basis = "protect-child-from-health-care", Justification = "Insats behövs till skydd för det väntade barnet." },
        }, [herNo], Now);

        unclaimed.Permitted.ShouldBeFalse();
        unclaimed.Reasons.ShouldContain(r => r.Contains("report about a child", StringComparison.Ordinal));
        claimed.Permitted.ShouldBeFalse();
        protective.Permitted.ShouldBeTrue(string.Join(" | ", protective.Reasons));
        protective.Basis.ShouldBe("protect-child-from-health-care");
        protective.FlaggedForReview.ShouldBeTrue();
    }

    [Fact]
    public void Decide_ReportOfConcernAboutATeenager_IsStillAMandatoryReport()
    {
        var decision = Gate.Decide(Disclosure("mvc", "intake", Purpose.ReportOfConcern) with { SubjectId = Teenager }, [], Now);

        decision.Permitted.ShouldBeTrue();
        decision.Basis.ShouldBe("report-of-concern");
    }

    [Fact]
    public void Decide_NoInformationCategory_IsRefusedWhateverTheConsent() =>
        Gate.Decide(Disclosure("bvc", "social", categories: []), [ConsentFor("bvc", "social")], Now).Permitted.ShouldBeFalse();

    [Fact]
    public void Decide_ProtectChildBasis_NeedsAWrittenJustification()
    {
        var without = Gate.Decide(Disclosure("mvc", "social", basis: new ClaimedBasis { Basis = "protect-child-from-health-care" }), [], Now);
        var with = Gate.Decide(Disclosure("mvc", "social", basis: new ClaimedBasis
        {
            Basis = "protect-child-from-health-care",
            Justification = "Nödvändig insats till skydd för det väntade barnet.",
        }), [], Now);

        without.Permitted.ShouldBeFalse();
        without.Reasons.ShouldContain("basis protect-child-from-health-care requires a written justification");
        with.Permitted.ShouldBeTrue();
        with.FlaggedForReview.ShouldBeTrue();
    }

    [Fact]
    public void Decide_ProtectChildBasisInTheWrongDirection_IsRefused()
    {
        var claim = new ClaimedBasis { Basis = "protect-child-from-health-care", Justification = "skydd" };

        Gate.Decide(Disclosure("social", "bvc", basis: claim), [], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_HarmAssessment_NeedsADesignatedAssessorOfTheSendingPublicUnit()
    {
        ClaimedBasis Claim(string assessor) => new() { Basis = "harm-assessment", AssessmentReference = "J-42", Assessor = assessor };

        Gate.Decide(Disclosure("bvc", "social", basis: Claim("assessor-bvc")), [], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "social", basis: Claim("assessor-social")), [], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "social", basis: Claim("somebody")), [], Now).Permitted.ShouldBeFalse();
        // A private provider cannot use the public bodies' harm assessment.
        Gate.Decide(Disclosure("bvc-private-a", "social", basis: Claim("assessor-a")), [], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_Psl612Assessment_OnlyForPrivateProviders()
    {
        ClaimedBasis Claim(string assessor) => new() { Basis = "not-unauthorised-disclosure", AssessmentReference = "J-7", Assessor = assessor };

        Gate.Decide(Disclosure("bvc-private-a", "bvc-private-b", basis: Claim("assessor-a")), [], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "bvc-private-b", basis: Claim("assessor-bvc")), [], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_ConsentOrSameAreaClaimedAsBasis_IsNotAShortcut()
    {
        Gate.Decide(Disclosure("bvc", "social", basis: new ClaimedBasis { Basis = "consent" }), [], Now).Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "social", basis: new ClaimedBasis { Basis = "same-secrecy-area" }), [], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_UnknownReceiver_Refuses()
    {
        Gate.Decide(Disclosure("bvc", "nowhere"), [], Now).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_BirthHandoverOnlyFromMaternityToChildHealth()
    {
        Gate.Decide(Disclosure("mvc", "bvc-private-a", Purpose.BirthHandover), [ConsentFor("mvc", "bvc-private-a", Purpose.BirthHandover)], Now)
            .Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "social", Purpose.BirthHandover), [ConsentFor("bvc", "social", Purpose.BirthHandover)], Now)
            .Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Decide_UnidentifiedSubject_OnlyForAReportOfConcern()
    {
        var unidentified = "unidentified-" + Guid.CreateVersion7();

        Gate.Decide(Disclosure("bvc", "intake", Purpose.ReportOfConcern) with { SubjectId = unidentified }, [], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("mvc", "bvc") with { SubjectId = unidentified }, [], Now).Permitted.ShouldBeFalse(
            "even inside one secrecy area a message must say whom it is about");
    }
}
