using System.Buffers;
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
        var hash = new byte[SHA256.HashSizeInBytes];
        ComputeHash(prevHash, hash);
        return hash;
    }

    /// <summary>
    /// The hash of <paramref name="prevHash"/> followed by the entry's canonical text in UTF-8, written into
    /// <paramref name="destination"/>. The text is the fields joined by U+001F in a fixed order (categories by a comma,
    /// reasons by U+001E, the time as UTC ticks, ids as 32 hex digits, a digest last and only when present). It is
    /// written piece by piece into one buffer rather than built as a string: the verifier hashes every entry of the
    /// ledger, and the bytes are the same, since every piece is separated from the next by a character of its own.
    /// </summary>
    public void ComputeHash(ReadOnlySpan<byte> prevHash, Span<byte> destination)
    {
        var kind = KindText;
        var outcome = OutcomeText;
        var max = prevHash.Length + Max(kind) + Max(outcome) + Max(SendingUnit) + Max(ReceivingUnit) + Max(ActingSystem) + Max(ActingUser)
            + Max(SubjectPseudonym) + Max(Purpose) + Max(Basis) + (Digest?.Length * 2 ?? 0) + 160;
        foreach (var category in Categories)
        {
            max += Max(category);
        }

        foreach (var reason in Reasons)
        {
            max += Max(reason);
        }

        byte[]? rented = null;
        var buffer = max <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var text = new Utf8Text(buffer);
            text.Bytes(prevHash);
            text.Number(Seq);
            text.Separator();
            text.Id(MessageId);
            text.Separator();
            text.Append(kind);
            text.Separator();
            text.Append(outcome);
            text.Separator();
            text.Append(SendingUnit);
            text.Separator();
            text.Append(ReceivingUnit);
            text.Separator();
            text.Append(ActingSystem);
            text.Separator();
            text.Append(ActingUser);
            text.Separator();
            text.Append(SubjectPseudonym);
            text.Separator();
            text.Append(Purpose);
            text.Separator();
            text.Joined(Categories, (byte)',');
            text.Separator();
            text.Append(Basis);
            text.Separator();
            if (ConsentId is { } consentId)
            {
                text.Id(consentId);
            }

            text.Separator();
            text.Joined(Reasons, 0x1e);
            text.Separator();
            text.Append(Review ? "1" : "0");
            text.Separator();
            text.Number(At.UtcTicks);
            if (Digest is not null)
            {
                // Appended only when present, so an entry from before digests hashes exactly as it did when it was written.
                text.Separator();
                text.Hex(Digest);
            }

            SHA256.HashData(text.Written, destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int Max(string? text) => text is null ? 0 : Encoding.UTF8.GetMaxByteCount(text.Length) + 1;

    /// <summary>The canonical text's bytes as they are written; sized by the caller for the longest text the fields can make.</summary>
    private ref struct Utf8Text(Span<byte> buffer)
    {
        private readonly Span<byte> buffer = buffer;
        private int length;

        public readonly ReadOnlySpan<byte> Written => buffer[..length];

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(buffer[length..]);
            length += bytes.Length;
        }

        public void Separator() => buffer[length++] = 0x1f;

        // Encoding.UTF8 replaces a lone surrogate with U+FFFD, as it did when the whole text was encoded at once: no
        // surrogate pair can span two pieces, a separator always stands between them.
        public void Append(string? text) => length += text is null ? 0 : Encoding.UTF8.GetBytes(text, buffer[length..]);

        public void Joined(string[] texts, byte separator)
        {
            for (var i = 0; i < texts.Length; i++)
            {
                if (i > 0)
                {
                    buffer[length++] = separator;
                }

                Append(texts[i]);
            }
        }

        public void Number(long value)
        {
            value.TryFormat(buffer[length..], out var written, default, CultureInfo.InvariantCulture);
            length += written;
        }

        public void Id(Guid id)
        {
            id.TryFormat(buffer[length..], out var written, "N");
            length += written;
        }

        public void Hex(byte[] bytes)
        {
            const string Digits = "0123456789abcdef";
            foreach (var b in bytes)
            {
                buffer[length++] = (byte)Digits[b >> 4];
                buffer[length++] = (byte)Digits[b & 0xf];
            }
        }
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
    /// <summary>
    /// For SQL: an entry the receiving unit's side may see. A refusal never reveals to the receiver that a message existed
    /// (domain.md section 5), nor does another body under a decided id; the sending side sees both.
    /// </summary>
    internal static readonly string LetThrough = $"outcome NOT IN ('{LedgerText.Of(LedgerOutcome.Refused)}', '{LedgerText.Of(LedgerOutcome.Conflict)}')";

    /// <summary>
    /// For SQL: the entries about <c>@unit</c>'s own side of a disclosure. The disclosing unit sees its disclosures and
    /// the consents and custody changes it keeps (their entries name it as the sending unit); a receiving unit sees only
    /// what was let through to it and what became of it. A consent's or custody change's entry names its receiving unit
    /// too, but a receiver may learn what a consent permits, never whom it is about or who gave it (docs/api.md), nor the
    /// disclosing unit's reviews of its own decisions.
    /// </summary>
    internal static readonly string OfUnit =
        $"(sending_unit = @unit OR (receiving_unit = @unit AND {LetThrough} AND kind IN ({string.Join(", ", new[] { LedgerKind.Decision, LedgerKind.Delivery, LedgerKind.Withdrawal, LedgerKind.Acknowledgement }.Select(k => $"'{LedgerText.Of(k)}'"))})))";

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

    /// <summary>
    /// Walks the whole chain in order, streaming, and names the first entry whose link does not hold. Each row is read
    /// by ordinal (whole, not sequentially: a row is small, and sequential access cost more CPU per row in the benchmark)
    /// and hashed into one buffer: ten million entries must verify within a minute (issue 16), and every check of every
    /// entry stays as it was.
    /// </summary>
    public async Task<ChainVerification> VerifyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var prevHash = new byte[SHA256.HashSizeInBytes];
        var computed = new byte[SHA256.HashSizeInBytes];
        long expectedSeq = 1, checkedCount = 0;
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM ledger ORDER BY seq", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = ReadRow(reader);
            var entry = row.ToEntry();
            string? problem = row.Seq != expectedSeq ? $"entry {expectedSeq} is missing"
                : !row.PrevHash.AsSpan().SequenceEqual(prevHash) ? "does not link to the entry before it"
                : entry is null ? "its kind or outcome is not one the ledger writes"
                : !HashHolds(entry, prevHash, computed) ? "its content does not match its hash"
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

    private static bool HashHolds(LedgerEntry entry, byte[] prevHash, byte[] computed)
    {
        entry.ComputeHash(prevHash, computed);
        return entry.Hash.AsSpan().SequenceEqual(computed);
    }

    /// <summary>A row of <see cref="Columns"/>, by ordinal.</summary>
    private static LedgerRow ReadRow(NpgsqlDataReader r) => new()
    {
        Seq = r.GetInt64(0),
        MessageId = r.GetGuid(1),
        Kind = r.GetString(2),
        Outcome = r.GetString(3),
        SendingUnit = r.GetString(4),
        ReceivingUnit = r.GetString(5),
        ActingSystem = r.GetString(6),
        ActingUser = r.IsDBNull(7) ? null : r.GetString(7),
        SubjectPseudonym = r.GetString(8),
        Purpose = r.GetString(9),
        Categories = r.GetFieldValue<string[]>(10),
        Basis = r.IsDBNull(11) ? null : r.GetString(11),
        ConsentId = r.IsDBNull(12) ? null : r.GetGuid(12),
        Reasons = r.GetFieldValue<string[]>(13),
        Review = r.GetBoolean(14),
        At = r.GetFieldValue<DateTimeOffset>(15),
        PrevHash = r.GetFieldValue<byte[]>(16),
        Hash = r.GetFieldValue<byte[]>(17),
        Digest = r.IsDBNull(18) ? null : r.GetFieldValue<byte[]>(18),
    };
}
