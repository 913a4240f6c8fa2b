using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// Whether a new version of a consent only ever stops disclosures. Secrecy is broken by the disclosing unit, which must
/// have the basis (OSL 10:1, 12:2), so only a unit that discloses under a consent may record or widen it; any unit the
/// consent names may narrow or revoke it (a guardian may withdraw wherever they are). A change is narrowing when every
/// disclosure the gate would permit with the new version beside any other consents of the subject, it would also permit
/// with the old one: no permit of the new version is missing from the old, and no recorded "no" of the old version, which
/// vetoes every consent for its situation, loses any of its reach. And a version stays within its consent's situation
/// (domain.md section 3: a new situation needs a new consent): one that names a unit or purpose the consent did not, even
/// in a "no", is no narrowing; otherwise a receiver could name itself a disclosing unit, and so read the consent whole and
/// hold its "no" against the real discloser, or veto disclosures between units that never gave it a say.
/// </summary>
public static class ConsentNarrowing
{
    private static readonly OperationType[] Receivers = Enum.GetValues<OperationType>();

    /// <param name="others">The subject's consents as they stand (the one changed among them or not): an answer in part
    /// limits another consent for its situation (SecrecyGate), so where there is one, taking the answer away lets more
    /// through, as taking away a "no" does.</param>
    public static bool IsNarrowing(ConsentRecord before, ConsentRecord after, SecrecyGate gate, IReadOnlyList<ConsentRecord>? others = null)
    {
        if (after.SubjectId != before.SubjectId || !WithinSituation(before, after) || !SameGrantorsSayYes(before, after))
        {
            return false;
        }

        var limitsOthers = LimitsInPart(before) && (others ?? []).Any(o => o.Id != before.Id && o.State == ConsentState.Active && Overlaps(o, before));
        if (limitsOthers && !(WideAs(after, before) && (Vetoes(after) || (LimitsInPart(after) && LeftOut(before).IsSubsetOf(LeftOut(after))))))
        {
            return false;
        }

        if (Vetoes(before) && !(Vetoes(after) && WideAs(after, before)))
        {
            return false;
        }

        if (!Permits(after))
        {
            return true;
        }

        if (!Permits(before) || !WideAs(before, after))
        {
            return false;
        }

        // What the grantors' answers cover depends on the purpose and on the receiver's operation (a child's own consent
        // reaches only some), and on whether the subject is of age (a guardian's yes no longer counts, the subject's own
        // does), so it is compared for each: the gate's own reading of a consent, not a second one.
        foreach (var purpose in after.Purposes.Distinct())
        {
            foreach (var receiver in Receivers)
            {
                foreach (var ofAge in (bool[])[false, true])
                {
                    if (!gate.Coverage(after, purpose, receiver, ofAge).IsSubsetOf(gate.Coverage(before, purpose, receiver, ofAge)))
                    {
                        return false;
                    }
                }
            }
        }

        return true;
    }

    /// <summary>
    /// Every answer of the new version that lets something through is one the old version had from the same grantor (role
    /// and identity number). A grantor re-numbered, or left without the number, looks alike to the gate today, but a custody
    /// change the hub is told of later finds a grantor by that number: the former guardian's yes would stay in force.
    /// </summary>
    private static bool SameGrantorsSayYes(ConsentRecord before, ConsentRecord after)
    {
        // Each old answer stands for one grantor only: two guardians without numbers are not one with a number.
        var unmatched = before.Grantors.Where(b => b.Answer != ConsentAnswer.No).ToList();
        foreach (var g in after.Grantors.Where(g => g.Answer != ConsentAnswer.No))
        {
            var match = unmatched.FindIndex(b => b.Role == g.Role && string.Equals(b.IdentityNumber, g.IdentityNumber, StringComparison.Ordinal));
            if (match < 0)
            {
                return false;
            }

            unmatched.RemoveAt(match);
        }

        return true;
    }

    /// <summary>A version with a "no" in it vetoes its situation while valid (domain.md section 3).</summary>
    private static bool Vetoes(ConsentRecord c) => c.State == ConsentState.Active && c.Grantors.Any(g => g.Answer == ConsentAnswer.No);

    /// <summary>
    /// A version with an answer in part refuses, while valid, what it leaves out under the other consents of its situation;
    /// with no other consent there, revoking or shortening it takes nothing away but itself.
    /// </summary>
    private static bool LimitsInPart(ConsentRecord c) => c.State == ConsentState.Active && c.Grantors.Any(g => g.Answer == ConsentAnswer.Partial);

    /// <summary>What the answers in part of a consent leave out of the categories it asked about: what they refuse elsewhere.</summary>
    private static HashSet<InformationCategory> LeftOut(ConsentRecord c) =>
        [.. c.Grantors.Where(g => g.Answer == ConsentAnswer.Partial).SelectMany(g => c.Categories.Except(g.CoveredCategories ?? []))];

    /// <summary>Whether two consents share a situation: a sending unit, a receiving unit and a purpose.</summary>
    private static bool Overlaps(ConsentRecord a, ConsentRecord b) =>
        a.SendingUnits.Intersect(b.SendingUnits).Any() && a.ReceivingUnits.Intersect(b.ReceivingUnits).Any() && a.Purposes.Intersect(b.Purposes).Any();

    private static bool Permits(ConsentRecord c) => c.State == ConsentState.Active && !c.Grantors.Any(g => g.Answer == ConsentAnswer.No);

    /// <summary>Every sending unit, receiving unit, purpose and instant of <paramref name="inner"/> is also <paramref name="outer"/>'s.</summary>
    private static bool WideAs(ConsentRecord outer, ConsentRecord inner) =>
        WithinSituation(outer, inner)
        && (inner.ValidFrom >= inner.ValidUntil || (outer.ValidFrom <= inner.ValidFrom && inner.ValidUntil <= outer.ValidUntil));

    /// <summary>Every sending unit, receiving unit and purpose of <paramref name="inner"/> is also <paramref name="outer"/>'s.</summary>
    private static bool WithinSituation(ConsentRecord outer, ConsentRecord inner) =>
        inner.SendingUnits.ToHashSet(StringComparer.Ordinal).IsSubsetOf(outer.SendingUnits)
        && inner.ReceivingUnits.ToHashSet(StringComparer.Ordinal).IsSubsetOf(outer.ReceivingUnits)
        && inner.Purposes.ToHashSet().IsSubsetOf(outer.Purposes);
}
