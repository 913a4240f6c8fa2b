using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FsCheck;
using FsCheck.Fluent;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// What a unit named in a consent only as a receiver may do to it: narrow or revoke, never widen. The function is checked
/// row by row for the changes found through the API, and as a property against the gate itself: with a narrowing change,
/// nothing is permitted that was refused before, whatever other consents the subject has.
/// </summary>
public sealed class ConsentNarrowingTests
{
    private static readonly ConsentRecord Base = ConsentFor("bvc", "social", categories: [InformationCategory.FamilySituation, InformationCategory.ParentingSupport],
        grantors: [new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes), new Grantor(GrantorRole.Guardian, "Vårdnadshavare 2", ConsentAnswer.Yes)]);

    private static bool Narrows(ConsentRecord before, ConsentRecord after) => ConsentNarrowing.IsNarrowing(before, after, Gate);

    private static ConsentRecord WithAnswer(ConsentRecord c, int index, ConsentAnswer answer, params InformationCategory[] covered) =>
        c with { Grantors = c.Grantors.Select((g, i) => i == index ? g with { Answer = answer, CoveredCategories = covered.Length > 0 ? covered : null } : g).ToList() };

    public static TheoryData<string> Widenings() =>
    [
        "no to yes", "partial to yes", "another category", "another receiving unit", "another sending unit", "another purpose", "longer validity",
        "earlier start", "both guardians no longer required", "a grantor who said no removed", "revoking a recorded no", "another subject",
        "a grantor's identity number dropped", "a grantor's identity number changed",
    ];

    private static (ConsentRecord Before, ConsentRecord After) Widening(string name) => name switch
    {
        "no to yes" => (WithAnswer(Base, 1, ConsentAnswer.No), Base),
        "partial to yes" => (WithAnswer(Base, 1, ConsentAnswer.Partial, InformationCategory.ParentingSupport), Base),
        "another category" => (Base, Base with { Categories = [.. Base.Categories, InformationCategory.ChildHealth] }),
        "another receiving unit" => (Base, Base with { ReceivingUnits = ["social", "forskola"] }),
        "another sending unit" => (Base, Base with { SendingUnits = ["bvc", "mvc"] }),
        "another purpose" => (Base, Base with { Purposes = [Purpose.Referral, Purpose.JointPlan] }),
        "longer validity" => (Base, Base with { ValidUntil = Base.ValidUntil.AddDays(30) }),
        "earlier start" => (Base, Base with { ValidFrom = Base.ValidFrom.AddDays(-30) }),
        "both guardians no longer required" => (Base with { BothGuardiansRequired = true, Grantors = [Base.Grantors[0]] }, Base with { Grantors = [Base.Grantors[0]] }),
        "a grantor who said no removed" => (WithAnswer(Base, 1, ConsentAnswer.No), Base with { Grantors = [Base.Grantors[0]] }),
        "revoking a recorded no" => (WithAnswer(Base, 1, ConsentAnswer.No), WithAnswer(Base, 1, ConsentAnswer.No) with { State = ConsentState.Revoked }),
        "another subject" => (Base, Base with { SubjectId = Teenager }),
        "a grantor's identity number dropped" => (Numbered("198503152343"), Base),
        "a grantor's identity number changed" => (Numbered("198503152343"), Numbered("198503152350")),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Base with the first guardian's identity number recorded, as a custody change would find her by it.</summary>
    private static ConsentRecord Numbered(string number) =>
        Base with { Grantors = [Base.Grantors[0] with { IdentityNumber = number }, Base.Grantors[1]] };

    [Theory]
    [MemberData(nameof(Widenings))]
    public void IsNarrowing_ChangeThatLetsMoreThrough_IsNot(string name)
    {
        var (before, after) = Widening(name);

        Narrows(before, after).ShouldBeFalse(name);
    }

    public static TheoryData<string> Narrowings() =>
    [
        "unchanged", "a category removed", "a receiving unit removed", "a purpose removed", "shorter validity", "later start", "yes to no",
        "yes to partial", "both guardians now required", "revoked", "a recorded no reaching further", "situation and journal reference reworded",
        "a partial answer revoked", "a partial answer's validity shortened",
    ];

    private static (ConsentRecord Before, ConsentRecord After) Narrowing(string name) => name switch
    {
        "unchanged" => (Base, Base with { Version = 2 }),
        "a category removed" => (Base, Base with { Categories = [InformationCategory.ParentingSupport] }),
        "a receiving unit removed" => (Base with { ReceivingUnits = ["social", "forskola"] }, Base),
        "a purpose removed" => (Base with { Purposes = [Purpose.Referral, Purpose.JointPlan] }, Base),
        "shorter validity" => (Base, Base with { ValidUntil = Base.ValidUntil.AddDays(-30) }),
        "later start" => (Base, Base with { ValidFrom = Base.ValidFrom.AddDays(10) }),
        "yes to no" => (Base, WithAnswer(Base, 1, ConsentAnswer.No)),
        "yes to partial" => (Base, WithAnswer(Base, 1, ConsentAnswer.Partial, InformationCategory.ParentingSupport)),
        "both guardians now required" => (Base, Base with { BothGuardiansRequired = true }),
        "revoked" => (Base, Base with { State = ConsentState.Revoked }),
        "a recorded no reaching further" => (WithAnswer(Base, 1, ConsentAnswer.No), WithAnswer(Base, 1, ConsentAnswer.No) with { ValidUntil = Base.ValidUntil.AddDays(30) }),
        "situation and journal reference reworded" => (Base, Base with { Situation = "Annan formulering", JournalReference = "J-2" }),
        // A guardian withdraws a partial consent wherever they are, though it limited the subject's other consents.
        "a partial answer revoked" => (WithAnswer(Base, 1, ConsentAnswer.Partial, InformationCategory.ParentingSupport),
            WithAnswer(Base, 1, ConsentAnswer.Partial, InformationCategory.ParentingSupport) with { State = ConsentState.Revoked }),
        "a partial answer's validity shortened" => (WithAnswer(Base, 1, ConsentAnswer.Partial, InformationCategory.ParentingSupport),
            WithAnswer(Base, 1, ConsentAnswer.Partial, InformationCategory.ParentingSupport) with { ValidUntil = Base.ValidUntil.AddDays(-30) }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Narrowings))]
    public void IsNarrowing_ChangeThatOnlyStopsDisclosures_Is(string name)
    {
        var (before, after) = Narrowing(name);

        Narrows(before, after).ShouldBeTrue(name);
    }

    /// <summary>
    /// A "no" lets nothing through, but a version stays within its consent's situation: a receiver that could record a "no"
    /// naming itself a sending unit would become the consent's discloser (reading it whole, and holding the "no" against
    /// the unit that recorded it), and one naming other units or purposes would veto disclosures it has no say in.
    /// </summary>
    [Theory]
    [InlineData("a recorded no naming the receiver a sending unit")]
    [InlineData("a recorded no naming another receiving unit")]
    [InlineData("a recorded no for another purpose")]
    public void IsNarrowing_RecordedNoBeyondTheConsentsUnitsOrPurposes_IsNot(string name)
    {
        var no = WithAnswer(Base, 1, ConsentAnswer.No);
        var after = name switch
        {
            "a recorded no naming the receiver a sending unit" => no with { SendingUnits = ["social"], ReceivingUnits = ["bvc"] },
            "a recorded no naming another receiving unit" => no with { ReceivingUnits = ["social", "forskola"] },
            "a recorded no for another purpose" => no with { Purposes = [Purpose.Referral, Purpose.JointPlan] },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        Narrows(Base, after).ShouldBeFalse(name);
        Narrows(no, after).ShouldBeFalse(name + ", after a no within the consent");
    }

    [Fact]
    public void IsNarrowing_ChildsOwnConsentToAJointPlan_WidenedByAGuardiansYes_IsNot()
    {
        var own = ConsentFor("bvc", "social", Purpose.JointPlan, grantors: [new Grantor(GrantorRole.Subject, "Tonåringen", ConsentAnswer.Yes)]) with { SubjectId = Teenager };
        var withGuardian = own with { Grantors = [.. own.Grantors, new Grantor(GrantorRole.Guardian, "Vårdnadshavare 1", ConsentAnswer.Yes)] };

        Narrows(own, withGuardian).ShouldBeFalse("the child's own yes covers no joint plan; the guardian's does");
    }

    /// <summary>
    /// The definition, as a property of the gate: a change the function calls narrowing never turns a refusal into a
    /// permit, for any disclosure and any other consents of the subject. Changes are generated by mutating one consent of a
    /// generated scenario in one to three ways, so that both narrowing and widening changes occur.
    /// </summary>
    [Fact]
    public void IsNarrowing_WhenTrue_NothingRefusedBeforeIsPermittedAfter()
    {
        var cases =
            from s in Generators.Scenarios.Where(s => s.Consents.Count > 0)
            from index in Gen.Choose(0, s.Consents.Count - 1)
            from changed in Generators.Mutations(s.Organisation, s.Consents[index])
            select (Scenario: s, Index: index, Changed: changed);
        var narrowing = 0;

        Prop.ForAll(Arb.From(cases), x =>
        {
            var (s, index, changed) = x;
            var before = s.Consents[index];
            if (!ConsentNarrowing.IsNarrowing(before, changed, s.Organisation.Gate, s.Consents))
            {
                return;
            }

            narrowing++;
            var after = s.Consents.Select((c, i) => i == index ? changed : c).ToList();
            if (!s.Decide().Permitted)
            {
                s.DecideWith(after).Permitted.ShouldBeFalse($"a narrowing change turned a refusal into a permit\n{s}\nchanged to: {Describe(changed)}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2_000).WithQuietOnSuccess(true));

        narrowing.ShouldBeGreaterThan(100, "the mutations must produce narrowing changes often enough to test the definition");
    }

    private static string Describe(ConsentRecord k) =>
        $"{k.State} S=[{string.Join(",", k.SendingUnits)}] R=[{string.Join(",", k.ReceivingUnits)}] P=[{string.Join(",", k.Purposes)}] " +
        $"C=[{string.Join(",", k.Categories)}] {k.ValidFrom:O}..{k.ValidUntil:O} both={k.BothGuardiansRequired} " +
        $"G=[{string.Join("; ", k.Grantors.Select(g => $"{g.Role} {g.Answer}{(g.CoveredCategories is { } cc ? $"({string.Join(",", cc)})" : "")}"))}]";
}
