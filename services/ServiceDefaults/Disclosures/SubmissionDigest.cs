using System.Security.Cryptography;
using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.ServiceDefaults.Disclosures;

/// <summary>
/// The digest of one submission: everything the gate decides on and the receiver is given, so a decision bound to it
/// is bound to exactly one message (docs/design-decisions.md, "A permit is bound to one message"). The gate records it
/// with each decision and delivers only a submission with that digest; the sender's idempotency fingerprint and the
/// inbox use the same form.
/// </summary>
/// <remarks>
/// The canonical form is a JSON array of strings in a fixed order, so no two field values can run into each other:
/// <c>["hub-submission/1", sending unit, receiving unit, subject id, purpose, [categories], [basis, justification,
/// assessment reference, assessor] or null, content, acting system, acting user]</c>. Categories are a set: distinct,
/// sorted by name (ordinal). The content is the exact JSON text that travels (its spacing too). Left out: the message
/// id, which is what the digest is bound to, and the submission time, which a retried publish moves. The form is
/// stored (in the ledger): changing it means a new version tag, never an edit.
/// </remarks>
public static class SubmissionDigest
{
    public const string Version = "hub-submission/1";

    public static byte[] Of(SubmitDisclosure submission) => SHA256.HashData(Canonical(submission));

    public static byte[] Canonical(SubmitDisclosure submission)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            json.WriteStringValue(Version);
            json.WriteStringValue(submission.SendingUnit);
            json.WriteStringValue(submission.ReceivingUnit);
            json.WriteStringValue(submission.SubjectId);
            json.WriteStringValue(submission.Purpose.ToString());
            json.WriteStartArray();
            foreach (var category in submission.Categories.Select(c => c.ToString()).Distinct().Order(StringComparer.Ordinal))
            {
                json.WriteStringValue(category);
            }

            json.WriteEndArray();
            if (submission.ClaimedBasis is { } basis)
            {
                json.WriteStartArray();
                json.WriteStringValue(basis.Basis);
                json.WriteStringValue(basis.Justification);
                json.WriteStringValue(basis.AssessmentReference);
                json.WriteStringValue(basis.Assessor);
                json.WriteEndArray();
            }
            else
            {
                json.WriteNullValue();
            }

            json.WriteStringValue(submission.Content);
            json.WriteStringValue(submission.ActingSystem);
            json.WriteStringValue(submission.ActingUser);
            json.WriteEndArray();
        }

        return buffer.ToArray();
    }
}
