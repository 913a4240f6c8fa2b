namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// What other services write that the append-only ledger keeps, held to its shape: anything else is recorded as a fixed
/// word, so that a faulty or compromised service cannot make the ledger hold a name or an identity number for good.
/// </summary>
internal static class LedgerFields
{
    public const string Malformed = "(malformed)";

    public static bool IsClientId(string? value) => global::FamiljecentralHub.ServiceDefaults.Identity.ClientId.IsWellFormed(value);

    /// <summary>A registered client system's id (<see cref="global::FamiljecentralHub.ServiceDefaults.Identity.ClientId"/>), or <see cref="Malformed"/>.</summary>
    public static string ClientId(string value) => IsClientId(value) ? value : Malformed;
}
