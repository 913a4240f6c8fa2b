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
            INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at, valid_from, valid_until)
            VALUES (@Id, @Version, @Pseudonym, @State, @Record::jsonb, @RecordedAt, @ValidFrom, @ValidUntil)
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
                record.ValidFrom,
                record.ValidUntil,
            });
        return inserted == 1;
    }

    public async Task<ConsentRecord?> CurrentAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT record::text FROM consent_versions WHERE consent_id = @id ORDER BY version DESC LIMIT 1", new { id });
        return row is null ? null : Deserialize(row);
    }

    /// <summary>How many versions of the consent were recorded at the unit.</summary>
    public async Task<int> VersionsRecordedAtAsync(Guid id, string unit, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(
            "SELECT count(*)::int FROM consent_versions WHERE consent_id = @id AND record->>'recordingUnit' = @unit", new { id, unit });
    }

    public async Task<IReadOnlyList<ConsentRecord>> HistoryAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<string>(
            "SELECT record::text FROM consent_versions WHERE consent_id = @id ORDER BY version", new { id });
        return rows.Select(Deserialize).ToList();
    }

    /// <summary>
    /// The current version of every consent about the subject, revoked ones included (the gate explains them), each
    /// grantor marked from when the hub was told they no longer act for the subject (<see cref="CustodyApi"/>).
    /// </summary>
    public async Task<IReadOnlyList<ConsentRecord>> CurrentForSubjectAsync(string subjectPseudonym, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<CurrentRow>(
            """
            SELECT DISTINCT ON (consent_id) record::text AS Record,
                   min(LEAST(valid_from, recorded_at)) OVER (PARTITION BY consent_id) AS FirstGivenAt
            FROM consent_versions
            WHERE subject_pseudonym = @subjectPseudonym ORDER BY consent_id, version DESC
            """,
            new { subjectPseudonym });
        var consents = rows.Select(r => Deserialize(r.Record) with { FirstGivenAt = r.FirstGivenAt }).ToList();
        if (!consents.Any(c => c.Grantors.Any(g => g.IdentityNumber is not null)))
        {
            return consents;
        }

        var changes = await CustodyChangesAsync(connection, subjectPseudonym);
        return changes.Count == 0 ? consents : consents.Select(c => WithCustody(c, changes)).ToList();
    }

    /// <summary>
    /// The consents (all about one subject) with their grantors marked as <see cref="CurrentForSubjectAsync"/> marks them:
    /// a change is judged on what the gate reads, so that rewriting a former guardian's number cannot pass for narrowing.
    /// </summary>
    public async Task<IReadOnlyList<ConsentRecord>> WithCustodyAsync(string subjectPseudonym, IReadOnlyList<ConsentRecord> consents, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var changes = await CustodyChangesAsync(connection, subjectPseudonym);
        return changes.Count == 0 ? consents : consents.Select(c => WithCustody(c, changes)).ToList();
    }

    /// <summary>The earliest change told for each grantor, which is the one that counts.</summary>
    private static async Task<Dictionary<string, DateTimeOffset>> CustodyChangesAsync(NpgsqlConnection connection, string subjectPseudonym) =>
        (await connection.QueryAsync<GrantorChange>(
            """
            SELECT grantor_pseudonym AS Grantor, min(no_longer_guardian_from) AS "From" FROM custody_changes
            WHERE subject_pseudonym = @subjectPseudonym GROUP BY grantor_pseudonym
            """,
            new { subjectPseudonym })).ToDictionary(c => c.Grantor, c => c.From, StringComparer.Ordinal);

    private ConsentRecord WithCustody(ConsentRecord c, Dictionary<string, DateTimeOffset> changes) => c with
    {
        Grantors = c.Grantors.Select(g =>
            g is { IdentityNumber: { } number, Role: not GrantorRole.Subject } && changes.TryGetValue(pseudonyms.For(number), out var from)
                ? g with { NoLongerGuardianFrom = from }
                : g).ToList(),
    };

    /// <summary>Records that a grantor no longer acts for the subject: metadata and pseudonyms only, never the numbers.</summary>
    public async Task AddCustodyChangeAsync(CustodyChange change, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(
            """
            INSERT INTO custody_changes (id, subject_pseudonym, grantor_pseudonym, no_longer_guardian_from, recorded_at, recorded_by,
                                         recording_unit, acting_system, journal_reference)
            VALUES (@Id, @SubjectPseudonym, @GrantorPseudonym, @NoLongerGuardianFrom, @RecordedAt, @RecordedBy, @RecordingUnit, @ActingSystem,
                    @JournalReference)
            """,
            change);
    }

    private sealed class CurrentRow
    {
        public string Record { get; init; } = "";
        public DateTimeOffset FirstGivenAt { get; init; }
    }

    private sealed class GrantorChange
    {
        public string Grantor { get; init; } = "";
        public DateTimeOffset From { get; init; }
    }

    private static ConsentRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<ConsentRecord>(json, Json) ?? throw new InvalidDataException("empty consent record");
}

/// <summary>A custody change as the store keeps it: pseudonyms of the subject and the grantor, never their numbers.</summary>
public sealed record CustodyChange(
    Guid Id, string SubjectPseudonym, string GrantorPseudonym, DateTimeOffset NoLongerGuardianFrom, DateTimeOffset RecordedAt, string RecordedBy,
    string RecordingUnit, string ActingSystem, string? JournalReference);
