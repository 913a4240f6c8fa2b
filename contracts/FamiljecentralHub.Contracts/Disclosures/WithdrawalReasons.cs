namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// The reasons a receiving service gives for a withdrawal, the only ones the ledger records: it is append-only, and a
/// reason is what the publisher wrote, so a fixed set keeps whatever else a faulty or compromised service might write
/// (a name, an identity number) out of it for good.
/// </summary>
public static class WithdrawalReasons
{
    public const string Revoked = "the consent was revoked before the receiving system fetched it";

    public const string NoLongerCovered = "the consent no longer covered it before the receiving system fetched it";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal) { Revoked, NoLongerCovered };
}
