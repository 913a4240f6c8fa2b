using System.Security.Cryptography;
using System.Text;
using Dapper;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Consent.Features.Ledger;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>A flagged disclosure in its responsible unit's queue. Metadata only, but for the reviewer's own note once reviewed.</summary>
public sealed record FlaggedDisclosure(
    Guid MessageId,
    DateTimeOffset DecidedAt,
    string SendingUnit,
    string ReceivingUnit,
    string Purpose,
    IReadOnlyList<string> Categories,
    string? Basis,
    string ActingSystem,
    string? ActingUser,
    DateTimeOffset DueAt,
    bool Overdue,
    DateTimeOffset? ReviewedAt,
    string? ReviewedBy,
    string? Note);

public sealed record FlaggedPage(IReadOnlyList<FlaggedDisclosure> Items, int Open, int Overdue);

/// <summary>Open and overdue reviews of one unit: numbers only, for the ops console to poll.</summary>
public sealed record UnitReviewCount(string Unit, int Open, int Overdue);

public sealed record ReviewRecorded(Guid MessageId, DateTimeOffset ReviewedAt, string ReviewedBy);

/// <summary>
/// The review queue (issue 14 item 2). A flagged disclosure is one the gate marked for review (a report of concern,
/// OSL 25:12 / 26:9) or one that rests on a harm assessment or PSL 6:12 (which the gate permits without the flag, yet
/// which domain.md section 4 makes an assessment someone answers for). It is queued at the **sending** unit: secrecy is
/// broken by the unit that discloses and that unit's principal answers for the disclosure (OSL 10:1 and 12:2;
/// docs/secrecy-gate.md, "Who writes a consent"), not the receiver, which only received what the law let through.
/// </summary>
public sealed class ReviewQueue(NpgsqlDataSource db, LedgerWriter ledger, LegalBasisCatalog bases, IOptions<AccountabilityOptions> options, TimeProvider clock)
{
    private const string Flagged = """
        l.kind = 'decision' AND (l.review OR l.basis = ANY(@assessed))
        """;

    private TimeSpan Within => TimeSpan.FromDays(options.Value.ReviewWithinDays);

    private string[] Assessed => [.. bases.Document.Bases.Where(b => b.Kind is BasisKind.HarmAssessment or BasisKind.NotUnauthorisedDisclosure).Select(b => b.Id)];

    public async Task<FlaggedPage> ListAsync(string unit, bool includeReviewed, int limit, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"""
            SELECT l.message_id AS MessageId, l.at AS At, l.sending_unit AS SendingUnit, l.receiving_unit AS ReceivingUnit, l.purpose AS Purpose,
                   l.categories AS Categories, l.basis AS Basis, l.acting_system AS ActingSystem, l.acting_user AS ActingUser,
                   r.reviewed_at AS ReviewedAt, r.reviewed_by AS ReviewedBy, r.note AS Note
            FROM ledger l LEFT JOIN disclosure_reviews r ON r.message_id = l.message_id
            WHERE {Flagged} AND l.sending_unit = @unit AND (@includeReviewed OR r.message_id IS NULL)
            ORDER BY l.seq LIMIT @limit
            """,
            new { unit, includeReviewed, limit, assessed = Assessed }, cancellationToken: cancellationToken));
        var counts = await CountsAsync(connection, [unit], now, cancellationToken);
        var items = rows.Select(r =>
        {
            var at = Utc(r.At);
            return new FlaggedDisclosure(r.MessageId, at, r.SendingUnit, r.ReceivingUnit, r.Purpose, r.Categories, r.Basis, r.ActingSystem, r.ActingUser,
                at + Within, r.ReviewedAt is null && at + Within < now, r.ReviewedAt is { } reviewed ? Utc(reviewed) : null, r.ReviewedBy, r.Note);
        }).ToList();
        var count = counts.SingleOrDefault();
        return new FlaggedPage(items, count?.Open ?? 0, count?.Overdue ?? 0);
    }

    public async Task<IReadOnlyList<UnitReviewCount>> CountAsync(IReadOnlyList<string>? units, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await CountsAsync(connection, units, clock.GetUtcNow(), cancellationToken);
    }

    /// <summary>The flagged decision's responsible (sending) unit, or null when the message has no flagged decision.</summary>
    public async Task<LedgerEntry?> FindFlaggedAsync(Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<LedgerRow>(new CommandDefinition(
            $"SELECT {DecisionLedger.Columns} FROM ledger l WHERE l.message_id = @messageId AND {Flagged}",
            new { messageId, assessed = Assessed }, cancellationToken: cancellationToken));
        return row?.RequireEntry();
    }

    /// <summary>
    /// Stores the review and appends its ledger entry in one step: the row is inserted first in a transaction held open
    /// while the entry is written, so a second review waits on the first and finds it (null: reviewed already), and a
    /// failed ledger write leaves no review behind. The note stays in this table; the ledger gets only its digest.
    /// </summary>
    public async Task<ReviewRecorded?> ReviewAsync(
        LedgerEntry decision, string note, string reviewedBy, string actingSystem, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO disclosure_reviews (message_id, responsible_unit, reviewed_at, reviewed_by, acting_system, note)
            VALUES (@MessageId, @SendingUnit, @now, @reviewedBy, @actingSystem, @note)
            ON CONFLICT (message_id) DO NOTHING
            """,
            new { decision.MessageId, decision.SendingUnit, now = now.UtcDateTime, reviewedBy, actingSystem, note }, tx, cancellationToken: cancellationToken));
        if (inserted == 0)
        {
            return null;
        }

        // Once the entry is queued it will be written, so the row must be committed with it whether or not the client
        // stays for the answer. And the entry written must be this review's: one left by a review whose row was lost
        // (a crash between the two commits) vouches for another note, so this one is not stored under it.
        var entry = Entry(decision, note, reviewedBy, actingSystem, now);
        var written = await ledger.AppendAsync(entry, CancellationToken.None);
        if (!written.Reasons.SequenceEqual(entry.Reasons) || written.ActingUser != reviewedBy)
        {
            await tx.RollbackAsync(CancellationToken.None);
            return null;
        }

        await tx.CommitAsync(CancellationToken.None);
        return new ReviewRecorded(decision.MessageId, now, reviewedBy);
    }

    internal static LedgerEntry Entry(LedgerEntry decision, string note, string reviewedBy, string actingSystem, DateTimeOffset now) => new()
    {
        MessageId = decision.MessageId,
        Kind = LedgerKind.Reviewed,
        Outcome = LedgerOutcome.Recorded,
        SendingUnit = decision.SendingUnit,
        ReceivingUnit = decision.ReceivingUnit,
        ActingSystem = actingSystem,
        ActingUser = reviewedBy,
        SubjectPseudonym = decision.SubjectPseudonym,
        Purpose = decision.Purpose,
        Categories = decision.Categories,
        Basis = decision.Basis,
        ConsentId = decision.ConsentId,
        // The note is personal data and free text: the append-only ledger keeps only a digest that shows the stored note
        // was not changed afterwards, keyed by the message id so equal notes do not look alike across messages.
        Reasons = [$"review of the decision on message {decision.MessageId:D}", $"note digest {NoteDigest(decision.MessageId, note)}"],
        At = now,
    };

    internal static string NoteDigest(Guid messageId, string note) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{messageId:N}\u001f{note}")));

    /// <summary>Open and overdue reviews per responsible unit (parameters overdueBefore, all, units, assessed).</summary>
    internal const string CountsSql = $"""
        SELECT l.sending_unit, count(*), count(*) FILTER (WHERE l.at < @overdueBefore)
        FROM ledger l LEFT JOIN disclosure_reviews r ON r.message_id = l.message_id
        WHERE {Flagged} AND r.message_id IS NULL AND (@all OR l.sending_unit = ANY(@units))
        GROUP BY l.sending_unit ORDER BY l.sending_unit
        """;

    private async Task<IReadOnlyList<UnitReviewCount>> CountsAsync(NpgsqlConnection connection, IReadOnlyList<string>? units, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(string Unit, long Open, long Overdue)>(new CommandDefinition(
            CountsSql,
            new { overdueBefore = (now - Within).UtcDateTime, all = units is null, units = units?.ToArray() ?? [], assessed = Assessed },
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => new UnitReviewCount(r.Unit, (int)r.Open, (int)r.Overdue))];
    }

    private static DateTimeOffset Utc(DateTime at) => new(DateTime.SpecifyKind(at, DateTimeKind.Utc));

    private sealed class Row
    {
        public Guid MessageId { get; init; }
        public DateTime At { get; init; }
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string[] Categories { get; init; } = [];
        public string? Basis { get; init; }
        public string ActingSystem { get; init; } = "";
        public string? ActingUser { get; init; }
        public DateTime? ReviewedAt { get; init; }
        public string? ReviewedBy { get; init; }
        public string? Note { get; init; }
    }
}
