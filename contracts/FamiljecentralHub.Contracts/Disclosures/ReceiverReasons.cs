namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// The reasons a receiving service gives in its lifecycle events, the only ones the ledger and Ops keep from it: a
/// reason is what the publisher wrote, and the ledger is append-only, so a fixed set keeps whatever else a faulty or
/// compromised service might write (a name, an identity number) out of both.
/// </summary>
public static class ReceiverReasons
{
    public const string Revoked = "the consent was revoked before the receiving system fetched it";

    public const string NoLongerCovered = "the consent no longer covered it before the receiving system fetched it";

    public const string RevokedBeforeDelivery = "the consent was revoked before delivery";

    public const string NotStored = "the receiving service could not store it; it waits in the receiver's error queue to be redriven";

    public const string AnotherDelivered = "another message was already delivered under this message id; this one was not stored";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal) { Revoked, NoLongerCovered, RevokedBeforeDelivery, NotStored, AnotherDelivered };
}
