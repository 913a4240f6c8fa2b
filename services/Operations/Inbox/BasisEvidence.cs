using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// What the sender showed for the basis other than consent that the gate permitted on (domain.md section 4): the written
/// justification of a protective basis (OSL 25:12, 26:9), or the journal reference and the designated assessor of a harm
/// assessment or a PSL 6:12 assessment. The receiver reads it with the message, as the law's own record of why it may.
/// </summary>
public sealed record BasisEvidence(string? Justification, string? AssessmentReference, string? Assessor)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// The stored form (jsonb) of the evidence the gate hands on with a delivery (only for the statutory basis it permitted
    /// on, as claimed), when there is any; null otherwise.
    /// </summary>
    public static string? StoredOf(DeliverDisclosure delivery) =>
        delivery.Evidence is { } claim && (claim.Justification ?? claim.AssessmentReference ?? claim.Assessor) is not null
            ? JsonSerializer.Serialize(new BasisEvidence(claim.Justification, claim.AssessmentReference, claim.Assessor), Json)
            : null;

    public static BasisEvidence? Read(string? stored) => stored is null ? null : JsonSerializer.Deserialize<BasisEvidence>(stored, Json);
}
