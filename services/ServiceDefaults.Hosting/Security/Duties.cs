using System.Collections.Frozen;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>
/// What the data controller's authorised staff may ask of the ledger about their own units' disclosures (issue 14;
/// HSLF-FS 2016:40 4 kap.; domain.md section 7). A client system is registered for a duty in the clients file
/// (<c>"duties"</c>); the gateway carries it in the caller token's <see cref="CallerTokenDefaults.DutiesClaim"/>, and a
/// service checks it with <see cref="CallerPrincipalExtensions.HasDuty"/>. Acting for a unit is not enough: a system
/// that discloses for a unit must not read the log of everything the unit disclosed.
/// </summary>
public static class Duties
{
    /// <summary>The family's log extract (loggutdrag) about one subject.</summary>
    public const string LogExtract = "log-extract";

    /// <summary>Reviewing disclosures flagged for review (reports of concern, OSL 25:12/26:9, harm assessments).</summary>
    public const string DisclosureReview = "disclosure-review";

    /// <summary>Systematic log follow-up per unit and period, with a random sample (logguppföljning).</summary>
    public const string LogFollowUp = "log-follow-up";

    /// <summary>
    /// An operator may search the ops console by a subject's identity number, which the server turns into the keyed
    /// pseudonym at once and neither stores nor logs (issue 13): staff who answer a family's question about a message.
    /// </summary>
    public const string SubjectSearch = "subject-search";

    /// <summary>Every duty the hub knows: the clients file may name these and no other.</summary>
    public static readonly FrozenSet<string> Known = FrozenSet.ToFrozenSet([LogExtract, DisclosureReview, LogFollowUp, SubjectSearch], StringComparer.Ordinal);
}
