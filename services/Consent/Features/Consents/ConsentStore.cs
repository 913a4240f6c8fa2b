using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// Consents as an append-only list of versions. The gate reads this store directly, in the same service, so a
/// revocation is never behind a cache. Looked up by the subject's keyed pseudonym; the identity number itself is
/// kept only inside the record, which this store needs to give back.
/// </summary>
public sealed class ConsentStore(NpgsqlDataSource db, Pseudonymizer pseudonyms)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Adds a version; false when that version already exists (someone else changed the consent first).</summary>
    public async Task<bool> AddVersionAsync(ConsentRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(
            """
            INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at)
            VALUES (@Id, @Version, @Pseudonym, @State, @Record::jsonb, @RecordedAt)
            ON CONFLICT (consent_id, version) DO NOTHING
            """,
            new
            {
                record.Id,
                record.Version,
                Pseudonym = pseudonyms.For(record.SubjectId),
                State = record.State.ToString(),
                Record = JsonSerializer.Serialize(record, Json),
                record.RecordedAt,
            });
        return inserted == 1;
    }

    public async Task<ConsentRecord?> CurrentAsync(Guid id, CancellationToken cancellationToken) =>
        (await HistoryAsync(id, cancellationToken)).LastOrDefault();

    public async Task<IReadOnlyList<ConsentRecord>> HistoryAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<string>(
            "SELECT record::text FROM consent_versions WHERE consent_id = @id ORDER BY version", new { id });
        return rows.Select(Deserialize).ToList();
    }

    /// <summary>The current version of every consent about the subject, revoked ones included (the gate explains them).</summary>
    public async Task<IReadOnlyList<ConsentRecord>> CurrentForSubjectAsync(string subjectPseudonym, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<string>(
            """
            SELECT DISTINCT ON (consent_id) record::text FROM consent_versions
            WHERE subject_pseudonym = @subjectPseudonym ORDER BY consent_id, version DESC
            """,
            new { subjectPseudonym });
        return rows.Select(Deserialize).ToList();
    }

    private static ConsentRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<ConsentRecord>(json, Json) ?? throw new InvalidDataException("empty consent record");
}
