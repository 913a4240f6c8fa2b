using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// A referral (slussning) from one of the caller's units to a unit of another operation. The body is one free-text
/// reason, so the sender names the categories it covers (the consent must cover each of them).
/// </summary>
public sealed record ReferralRequest : DisclosureRequest, IMessageType
{
    public static string Route => "referrals";

    public IReadOnlyList<InformationCategory>? Categories { get; init; }

    /// <summary>Why the family is referred, in the sender's words. Travels only to the permitted receiver.</summary>
    public string? Reason { get; init; }

    internal override Purpose Purpose => Purpose.Referral;

    internal override string Name => "referral";

    internal override MessageBody? Compose(Dictionary<string, string[]> errors)
    {
        var valid = true;
        if (Categories is not { Count: > 0 })
        {
            errors["categories"] = ["name at least one information category"];
            valid = false;
        }

        if (string.IsNullOrWhiteSpace(Reason))
        {
            errors["reason"] = ["say why the family is referred"];
            valid = false;
        }

        return valid ? new MessageBody(Categories!.Distinct().ToList(), JsonSerializer.Serialize(new { reason = Reason })) : null;
    }
}
