using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// Every version of a consent in the ledger beside the decisions that rely on it: recorded, changed, narrowed or revoked,
/// by which unit, client system and HSA-id, when, for which units, purposes and categories. Metadata only: the subject is
/// its pseudonym, and no name, situation or journal reference is written. The entry uses the ledger's columns as they are
/// (units and purposes comma-separated, the version in the outcome), so the chain's format does not change. The version
/// is committed first; its entry is appended right after and, should that fail, by the loop here, which appends whatever
/// version has none (the entry's message id follows from the consent id and version, so it is written once).
/// </summary>
public sealed class ConsentLedger(NpgsqlDataSource db, LedgerWriter writer, Pseudonymizer pseudonyms, ILogger<ConsentLedger> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AnswerWaitsAtMost = TimeSpan.FromSeconds(3);

    public static LedgerKind KindOf(ConsentChange change) => change switch
    {
        ConsentChange.Recorded => LedgerKind.ConsentRecorded,
        ConsentChange.Narrowed => LedgerKind.ConsentNarrowed,
        ConsentChange.Revoked => LedgerKind.ConsentRevoked,
        _ => LedgerKind.ConsentChanged,
    };

    /// <summary>One entry per version, whoever writes it first: a name-based id from the consent id and version.</summary>
    public static Guid EntryId(Guid consentId, int version) =>
        NameBasedId.Of(string.Create(CultureInfo.InvariantCulture, $"consent-version:{consentId:N}:{version}"));

    public LedgerEntry EntryFor(ConsentRecord r) => new()
    {
        MessageId = EntryId(r.Id, r.Version),
        Kind = KindOf(r.Change ?? ConsentChange.Changed),
        Outcome = LedgerOutcome.Version,
        ConsentVersion = r.Version,
        SendingUnit = string.Join(',', r.SendingUnits),
        ReceivingUnit = string.Join(',', r.ReceivingUnits),
        ActingSystem = r.ActingSystem ?? "unknown",
        ActingUser = r.RecordedBy,
        SubjectPseudonym = pseudonyms.For(r.SubjectId),
        Purpose = string.Join(',', r.Purposes),
        Categories = r.Categories.Select(c => c.ToString()).ToArray(),
        ConsentId = r.Id,
        Reasons =
        [
            $"recorded at unit {r.RecordingUnit}",
            string.Create(CultureInfo.InvariantCulture, $"valid {r.ValidFrom.UtcDateTime:yyyy-MM-dd} to {r.ValidUntil.UtcDateTime:yyyy-MM-dd}"),
        ],
        At = r.RecordedAt,
    };

    /// <summary>The fast path, right after the version is committed. A failure is left to the loop.</summary>
    public async Task RecordAsync(ConsentRecord record, CancellationToken cancellationToken)
    {
        // The version is already committed and in force (a revocation stops disclosures at once); the answer waits for
        // its entry only briefly, since the writer may be behind a backlog of decisions, and the loop below appends it
        // should this wait end first (the entry's id makes a second append a no-op).
        using var brief = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        brief.CancelAfter(AnswerWaitsAtMost);
        try
        {
            await writer.AppendAsync(EntryFor(record), brief.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Consent {ConsentId} version {Version} not in the ledger yet ({Error}); retrying in the background.", record.Id, record.Version, ex.GetType().Name);
        }
    }

    /// <summary>Consent versions not in the ledger yet, oldest first.</summary>
    internal static string MissingSql(CatchUpPasses.Pass pass) => $"""
        SELECT v.record::text FROM consent_versions v
        WHERE v.record->>'change' IS NOT NULL AND v.recorded_at < now() - interval '2 seconds'
          {(pass == CatchUpPasses.Pass.Recent ? CatchUpPasses.RecentVersions : "")}
          AND NOT EXISTS (SELECT 1 FROM ledger l
                          WHERE l.consent_id = v.consent_id AND l.kind LIKE 'consent-%' AND l.outcome = 'version ' || v.version)
        ORDER BY v.recorded_at LIMIT {CatchUpPasses.Limit}
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var passes = new CatchUpPasses();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                // Versions written before consents were ledgered carry no "change" and are left as they were. The kinds and
                // the outcome are matched by the text LedgerText stores them as (consent-…, "version <n>").
                var missing = (await connection.QueryAsync<string>(MissingSql(passes.Next()))).AsList();
                foreach (var json in missing)
                {
                    await writer.AppendAsync(EntryFor(JsonSerializer.Deserialize<ConsentRecord>(json, Json)!), stoppingToken);
                }

                passes.Finished(foundAll: missing.Count < CatchUpPasses.Limit);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Writing consent versions to the ledger failed ({Error}); retrying.", ex.GetType().Name);
            }

            await Task.Delay(Interval, stoppingToken);
        }
    }
}
