using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using Shouldly;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// A consent recorded for guardians who are no longer the guardians is not relied on once the hub is told (domain.md
/// section 3): the gate reads a grantor the store marks as no longer acting for the subject as if their yes were gone.
/// </summary>
public sealed class CustodyChangeGateTests
{
    private static readonly DateTimeOffset Changed = Now.AddDays(-1);

    private static Grantor Guardian(int n, ConsentAnswer answer = ConsentAnswer.Yes, DateTimeOffset? goneFrom = null) =>
        new(GrantorRole.Guardian, $"Vårdnadshavare {n}", answer) { NoLongerGuardianFrom = goneFrom };

    /// <summary>
    /// A custody change reaches every consent resting on the guardian, and each gets a ledger entry that its own units see.
    /// That a unit the consent does not name recorded it (social services, say, for a consent between BVC and open
    /// preschool) is not theirs to learn: its entry names neither that unit, nor its system, nor its staff.
    /// </summary>
    [Fact]
    public void LedgerEntry_OfAConsentThatDoesNotNameTheRecordingUnit_NamesNoneOfItsOwn()
    {
        var consent = ConsentFor("bvc", "forskola", grantors: [new(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes, IdentityNumber: "198001012387")]);
        var change = new CustodyChange(Guid.NewGuid(), "subject-pseudonym", "grantor-pseudonym", Changed, Now, "SE2321000016-SOC1", "social", "socialtjanst-system", "Beslut 7");

        var elsewhere = CustodyApi.Entry(change, consent, "198001012387");
        var named = CustodyApi.Entry(change with { RecordingUnit = "bvc" }, consent, "198001012387");

        string.Join("|", elsewhere.Reasons).ShouldNotContain("social");
        elsewhere.ActingSystem.ShouldNotBe("socialtjanst-system");
        elsewhere.ActingUser.ShouldBeNull();
        named.Reasons.ShouldContain("recorded at unit bvc");
        named.ActingSystem.ShouldBe("socialtjanst-system");
    }

    [Fact]
    public void Decide_TheOnlyYesCameFromAFormerGuardian_RefusesNamingTheCustodyChange()
    {
        var consent = ConsentFor("bvc", "social", grantors: [Guardian(1, goneFrom: Changed)]);

        var decision = Gate.Decide(Disclosure("bvc", "social"), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("grantor 1 (Guardian) is no longer a guardian from 2026-11-21");
    }

    [Fact]
    public void Decide_BothGuardiansRequiredAndOneIsNoLongerAGuardian_Refuses()
    {
        var consent = ConsentFor("bvc", "social", both: true, grantors: [Guardian(1), Guardian(2, goneFrom: Changed)]);

        var decision = Gate.Decide(Disclosure("bvc", "social"), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("both guardians must consent, and grantor 2 (Guardian) is no longer a guardian from 2026-11-21");
    }

    /// <summary>Both guardians are two people: one guardian's yes listed twice, by number or by name, is one yes.</summary>
    [Theory]
    [InlineData("the same identity number")]
    [InlineData("the same name, no number")]
    [InlineData("the same name, spaced otherwise")]
    public void Decide_BothGuardiansRequired_MetByOneGuardianListedTwice_Refuses(string how)
    {
        Grantor[] grantors = how switch
        {
            "the same identity number" =>
                [new(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes, IdentityNumber: "198001012387"),
                 new(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Yes, IdentityNumber: "198001012387")],
            "the same name, no number" => [Guardian(1), Guardian(1)],
            _ => [new(GrantorRole.Guardian, "Anna Berg", ConsentAnswer.Yes), new(GrantorRole.Guardian, "anna\u00A0\u200Bberg", ConsentAnswer.Yes)],
        };
        var consent = ConsentFor("bvc", "social", both: true, grantors: grantors);

        var decision = Gate.Decide(Disclosure("bvc", "social"), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        decision.Reasons.ShouldContain("both guardians must consent, and fewer than two have answered yes");
    }

    [Fact]
    public void Decide_OneGuardianSufficesAndTheRemainingOneSaidYes_StillPermits()
    {
        var consent = ConsentFor("bvc", "social", grantors: [Guardian(1, goneFrom: Changed), Guardian(2)]);

        Gate.Decide(Disclosure("bvc", "social"), [consent], Now).Permitted.ShouldBeTrue("a remaining guardian's own yes counts where one suffices");
    }

    [Fact]
    public void Decide_AFormerGuardiansNo_StillStands()
    {
        // Lifting a recorded no would let more through, which only a disclosing unit may do by recording a new version.
        var consent = ConsentFor("bvc", "social", grantors: [Guardian(1, ConsentAnswer.No, goneFrom: Changed), Guardian(2)]);

        Gate.Decide(Disclosure("bvc", "social"), [consent], Now).Permitted.ShouldBeFalse();
    }

    /// <summary>
    /// An answer in part is a "no" to what it leaves out (domain.md section 3): it stands after custody ends, as a whole
    /// "no" does. Before, the former guardian's restriction fell away with their yes, and a custody change, which any unit
    /// the consent names may record, let through the very category that guardian had refused.
    /// </summary>
    [Fact]
    public void Decide_AFormerGuardiansAnswerInPart_StillLeavesOutWhatItLeftOut()
    {
        InformationCategory[] asked = [InformationCategory.IdentityAndContact, InformationCategory.ChildHealth];
        var partly = new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Partial, [InformationCategory.IdentityAndContact])
        {
            NoLongerGuardianFrom = Changed,
        };
        var consent = ConsentFor("bvc", "social", categories: asked, grantors: [Guardian(1), partly]);

        var decision = Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.ChildHealth]), [consent], Now);

        decision.Permitted.ShouldBeFalse();
        Gate.Decide(Disclosure("bvc", "social", categories: [InformationCategory.IdentityAndContact]), [consent], Now).Permitted
            .ShouldBeTrue("what the former guardian did cover, the remaining guardian's yes still lets through");
        Gate.Coverage(consent, Purpose.Referral, Contracts.Organisation.OperationType.PreventiveSocialServices)
            .ShouldBe([InformationCategory.IdentityAndContact], ignoreOrder: true);
    }

    [Fact]
    public void Decide_BeforeTheCustodyChangeTakesEffect_StillPermits()
    {
        var consent = ConsentFor("bvc", "social", grantors: [Guardian(1, goneFrom: Now.AddDays(1))]);

        Gate.Decide(Disclosure("bvc", "social"), [consent], Now).Permitted.ShouldBeTrue();
        Gate.Decide(Disclosure("bvc", "social"), [consent], Now.AddDays(2)).Permitted.ShouldBeFalse();
    }

    [Fact]
    public void Coverage_WithAFormerGuardiansYesOnly_CoversNothing()
    {
        var consent = ConsentFor("bvc", "social", grantors: [Guardian(1, goneFrom: Now.AddDays(1))]);

        Gate.Coverage(consent, Purpose.Referral, Contracts.Organisation.OperationType.PreventiveSocialServices).ShouldBeEmpty();
    }
}
