using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// One ledger line: what happened to which message, between which units, on whose behalf, on what basis
/// (HSLF-FS 2016:40 4 kap. 9 §). The subject is held only as its keyed pseudonym, so an extract for one person is an
/// index look-up and the ledger itself names nobody.
/// </summary>
public sealed record LedgerEntry
{
    public long Seq { get; init; }
    public required Guid MessageId { get; init; }

    /// <summary>One entry of each kind per message, at most. Stored as <see cref="KindText"/>.</summary>
    public required LedgerKind Kind { get; init; }

    /// <summary>For a decision, permitted or refused; otherwise the event itself. Stored as <see cref="OutcomeText"/>.</summary>
    public required LedgerOutcome Outcome { get; init; }

    /// <summary>For a consent entry (<see cref="LedgerOutcome.Version"/>), the version of the consent it records.</summary>
    public int? ConsentVersion { get; init; }

    public required string SendingUnit { get; init; }
    public required string ReceivingUnit { get; init; }
    public required string ActingSystem { get; init; }
    public string? ActingUser { get; init; }
    public required string SubjectPseudonym { get; init; }
    public required string Purpose { get; init; }
    public required string[] Categories { get; init; }
    public string? Basis { get; init; }
    public Guid? ConsentId { get; init; }
    public required string[] Reasons { get; init; }
    public bool Review { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>
    /// For a decision, the digest of the submission decided (SubmissionDigest): only a submission with this digest is
    /// delivered under the message id. For a conflict, the digest of the submission refused. Null on entries of other
    /// kinds and on every entry written before digests were recorded.
    /// </summary>
    public byte[]? Digest { get; init; }

    public byte[] PrevHash { get; init; } = [];
    public byte[] Hash { get; init; } = [];

    /// <summary>The kind as stored and hashed (<see cref="LedgerText"/>); a conflict's names its <see cref="Digest"/>.</summary>
    public string KindText => LedgerText.Of(Kind, Digest);

    public string OutcomeText => LedgerText.Of(Outcome, ConsentVersion);

    /// <summary>Every field, in a fixed order and format, so the hash does not depend on how a row was read back.</summary>
    public byte[] ComputeHash(byte[] prevHash)
    {
        var canonical = string.Join('\u001f',
            Seq.ToString(CultureInfo.InvariantCulture), MessageId.ToString("N"), KindText, OutcomeText, SendingUnit, ReceivingUnit, ActingSystem,
            ActingUser ?? "", SubjectPseudonym, Purpose, string.Join(',', Categories), Basis ?? "", ConsentId?.ToString("N") ?? "",
            string.Join('\u001e', Reasons), Review ? "1" : "0", At.UtcTicks.ToString(CultureInfo.InvariantCulture));
        if (Digest is not null)
        {
            // Appended only when present, so an entry from before digests hashes exactly as it did when it was written.
            canonical += '\u001f' + Convert.ToHexStringLower(Digest);
        }

        return SHA256.HashData([.. prevHash, .. Encoding.UTF8.GetBytes(canonical)]);
    }
}

/// <summary>
/// A ledger row as stored: the kind and outcome as their text. <see cref="ToEntry"/> reads them through
/// <see cref="LedgerText"/>, the one mapping, and gives null for a text the ledger never writes.
/// </summary>
internal sealed record LedgerRow
{
    public long Seq { get; init; }
    public Guid MessageId { get; init; }
    public string Kind { get; init; } = "";
    public string Outcome { get; init; } = "";
    public string SendingUnit { get; init; } = "";
    public string ReceivingUnit { get; init; } = "";
    public string ActingSystem { get; init; } = "";
    public string? ActingUser { get; init; }
    public string SubjectPseudonym { get; init; } = "";
    public string Purpose { get; init; } = "";
    public string[] Categories { get; init; } = [];
    public string? Basis { get; init; }
    public Guid? ConsentId { get; init; }
    public string[] Reasons { get; init; } = [];
    public bool Review { get; init; }
    public DateTimeOffset At { get; init; }
    public byte[]? Digest { get; init; }
    public byte[] PrevHash { get; init; } = [];
    public byte[] Hash { get; init; } = [];

    public LedgerEntry? ToEntry() =>
        LedgerText.KindOf(Kind, Digest) is { } kind && LedgerText.OutcomeOf(Outcome) is { } outcome
            ? new LedgerEntry
            {
                Seq = Seq, MessageId = MessageId, Kind = kind, Outcome = outcome.Outcome, ConsentVersion = outcome.Version,
                SendingUnit = SendingUnit, ReceivingUnit = ReceivingUnit, ActingSystem = ActingSystem, ActingUser = ActingUser,
                SubjectPseudonym = SubjectPseudonym, Purpose = Purpose, Categories = Categories, Basis = Basis, ConsentId = ConsentId,
                Reasons = Reasons, Review = Review, At = At, Digest = Digest, PrevHash = PrevHash, Hash = Hash,
            }
            : null;

    /// <summary>For an entry the ledger itself wrote and reads back to act on: an unknown text there is a tampered ledger.</summary>
    public LedgerEntry RequireEntry() =>
        ToEntry() ?? throw new InvalidOperationException($"Ledger entry {Seq} has a kind or outcome the ledger never writes; run verify-ledger.");
}

public sealed record ChainVerification(long EntriesChecked, long? FirstBrokenSeq, string? Problem)
{
    public bool Intact => FirstBrokenSeq is null;
}

/// <summary>
/// Reads and verifies the append-only, hash-chained decision ledger (<see cref="LedgerWriter"/> appends). Each entry's
/// hash covers the previous entry's hash, so changing, removing or inserting any entry breaks every later link, and
/// <see cref="VerifyAsync"/> names the first one.
/// </summary>
public sealed class DecisionLedger
{
    internal const string Columns = """
        seq AS Seq, message_id AS MessageId, kind AS Kind, outcome AS Outcome, sending_unit AS SendingUnit,
        receiving_unit AS ReceivingUnit, acting_system AS ActingSystem, acting_user AS ActingUser,
        subject_pseudonym AS SubjectPseudonym, purpose AS Purpose, categories AS Categories, basis AS Basis,
        consent_id AS ConsentId, reasons AS Reasons, review AS Review, at AS At, prev_hash AS PrevHash, hash AS Hash,
        digest AS Digest
        """;

    /// <summary>The message's entry of this kind (not <see cref="LedgerKind.Conflict"/>: there may be several), or null.</summary>
    public async Task<LedgerEntry?> FindAsync(NpgsqlConnection connection, Guid messageId, LedgerKind kind) =>
        (await connection.QuerySingleOrDefaultAsync<LedgerRow>(
            $"SELECT {Columns} FROM ledger WHERE message_id = @messageId AND kind = @kind", new { messageId, kind = LedgerText.Of(kind) }))?.RequireEntry();

    /// <summary>Walks the whole chain in order, streaming, and names the first entry whose link does not hold.</summary>
    public async Task<ChainVerification> VerifyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var prevHash = new byte[32];
        long expectedSeq = 1, checkedCount = 0;
        var rows = connection.QueryUnbufferedAsync<LedgerRow>($"SELECT {Columns} FROM ledger ORDER BY seq");
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            var entry = row.ToEntry() is { } read ? read with { At = read.At.ToUniversalTime() } : null;
            string? problem = row.Seq != expectedSeq ? $"entry {expectedSeq} is missing"
                : !row.PrevHash.AsSpan().SequenceEqual(prevHash) ? "does not link to the entry before it"
                : entry is null ? "its kind or outcome is not one the ledger writes"
                : !entry.Hash.AsSpan().SequenceEqual(entry.ComputeHash(prevHash)) ? "its content does not match its hash"
                : null;
            if (problem is not null)
            {
                return new ChainVerification(checkedCount, Math.Min(row.Seq, expectedSeq), problem);
            }

            prevHash = row.Hash;
            expectedSeq++;
            checkedCount++;
        }

        return new ChainVerification(checkedCount, null, null);
    }
}
