namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// The stand-in subject id of a report of concern whose child is known only by name (docs/vocabulary.md). The contract
/// needs a subject id, and the pseudonym, the ledger, the status view and the ops flows are all keyed on it: so it is
/// derived from the message id alone. It carries nothing about the child, links no two messages (a name would, and a
/// keyed hash of a name would be a pseudonym of a name that is neither unique nor stable), and a retry with the same
/// idempotency key gets the same one. The name travels only in the body, to the intake unit.
/// </summary>
public static class UnidentifiedSubject
{
    public const string Prefix = "unidentified-";

    public static string For(Guid messageId) => Prefix + messageId.ToString("N");

    public static bool Is(string subjectId) => subjectId.StartsWith(Prefix, StringComparison.Ordinal);
}
