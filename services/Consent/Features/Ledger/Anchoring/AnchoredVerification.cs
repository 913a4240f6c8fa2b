using System.Globalization;
using Dapper;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>What <c>verify-ledger</c> can find, with its exit code; several findings exit with the first of these.</summary>
public enum LedgerFinding
{
    /// <summary>A link of the hash chain does not hold: a row edited, inserted or removed without recomputing what follows.</summary>
    EditedRow = 2,

    /// <summary>A checkpointed seq is no longer in the table: the newest entries were cut off.</summary>
    Truncated = 3,

    /// <summary>The hash at a checkpointed seq differs: the chain was rewritten and every later hash recomputed.</summary>
    RewrittenTail = 4,

    /// <summary>A checkpoint line with a bad signature, an unknown kid, or content its signature does not cover.</summary>
    BadCheckpoint = 5,
}

public sealed record AnchoredVerification(ChainVerification Chain, IReadOnlyList<(LedgerFinding Finding, string Detail)> Findings, IReadOnlyList<string> Notes)
{
    public bool Intact => Findings.Count == 0;

    public int ExitCode => Findings.Count == 0 ? 0 : (int)Findings.Min(f => f.Finding);
}

/// <summary>
/// Verifies the ledger against its checkpoints: the chain must hold link by link (as before), and at every checkpointed
/// seq the table must still hold the signed hash. Only a checkpoint that verifies under a configured key anchors; a
/// line that does not is itself a finding. Reports seq numbers, line numbers, hashes and kinds, nothing of any entry.
/// </summary>
public static class LedgerAnchors
{
    public static async Task<AnchoredVerification> VerifyAsync(
        NpgsqlConnection connection, string checkpointPath, IReadOnlyDictionary<string, ECDsaSecurityKey> keys, CancellationToken cancellationToken)
    {
        var findings = new List<(LedgerFinding, string)>();
        var notes = new List<string>();

        var checkpoints = new List<(long Line, LedgerCheckpoint Checkpoint)>();
        foreach (var line in CheckpointFile.ReadAll(checkpointPath))
        {
            var (checkpoint, problem) = await CheckpointSignatures.VerifyAsync(line.Text, keys);
            if (checkpoint is not null)
            {
                checkpoints.Add((line.Number, checkpoint));
            }
            else if (!line.Terminated)
            {
                notes.Add(Invariant($"checkpoint file: last line {line.Number} is torn (a write cut short) and ignored"));
            }
            else
            {
                findings.Add((LedgerFinding.BadCheckpoint, Invariant($"checkpoint line {line.Number} {problem}")));
            }
        }

        var chain = await new DecisionLedger().VerifyAsync(connection, cancellationToken);
        if (!chain.Intact)
        {
            findings.Add((LedgerFinding.EditedRow, Invariant($"entry {chain.FirstBrokenSeq}: {chain.Problem}; {chain.EntriesChecked} entries before it hold")));
        }

        var end = await connection.ExecuteScalarAsync<long?>("SELECT max(seq) FROM ledger") ?? 0;
        if (checkpoints.Count == 0)
        {
            notes.Add(Invariant($"no valid checkpoint in {CheckpointFileName(checkpointPath)}: the chain's {end} entries are checked without an anchor"));
            return new AnchoredVerification(chain, findings, notes);
        }

        var newest = checkpoints.MaxBy(c => c.Checkpoint.Seq);
        if (newest.Checkpoint.Seq > end)
        {
            findings.Add((LedgerFinding.Truncated, Invariant(
                $"checkpoint line {newest.Line} anchors {CheckpointSignatures.Describe(newest.Checkpoint)}, but the ledger ends at seq {end}")));
        }

        var seqs = checkpoints.Select(c => c.Checkpoint.Seq).Where(s => s <= end).Distinct().ToArray();
        var stored = (await connection.QueryAsync<(long Seq, byte[] Hash)>("SELECT seq, hash FROM ledger WHERE seq = ANY(@seqs)", new { seqs }))
            .ToDictionary(r => r.Seq, r => r.Hash);
        var differing = checkpoints
            .Where(c => c.Checkpoint.Seq <= end && !(stored.TryGetValue(c.Checkpoint.Seq, out var hash) && hash.AsSpan().SequenceEqual(c.Checkpoint.Head)))
            .OrderBy(c => c.Checkpoint.Seq)
            .ToList();
        if (differing.Count > 0)
        {
            var first = differing[0];
            var holding = checkpoints.Where(c => c.Checkpoint.Seq < first.Checkpoint.Seq).Select(c => c.Checkpoint.Seq).DefaultIfEmpty(0).Max();
            var found = stored.TryGetValue(first.Checkpoint.Seq, out var actual) ? $"hash {Convert.ToHexStringLower(actual)}" : "no entry";
            findings.Add((LedgerFinding.RewrittenTail,
                Invariant($"checkpoint line {first.Line} signed hash {first.Checkpoint.HeadHex} at {CheckpointSignatures.Describe(first.Checkpoint)}, the ledger has {found}; ")
                + Invariant($"{differing.Count} checkpoint(s) differ; the chain was rewritten after seq {holding}")));
        }

        var newestHeld = checkpoints.Where(c => c.Checkpoint.Seq <= end).Select(c => c.Checkpoint).MaxBy(c => c.Seq);
        if (newestHeld is not null && findings.Count == 0)
        {
            var counted = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE seq <= @Seq", new { newestHeld.Seq });
            if (counted != newestHeld.Entries)
            {
                findings.Add((LedgerFinding.RewrittenTail, Invariant(
                    $"{CheckpointSignatures.Describe(newestHeld)} signed {newestHeld.Entries} entries up to it, the ledger has {counted}")));
            }
        }

        notes.Add(Invariant($"{checkpoints.Count} signed checkpoint(s) by key(s) {string.Join(", ", checkpoints.Select(c => c.Checkpoint.Kid).Distinct())}; ")
            + Invariant($"newest {CheckpointSignatures.Describe(newest.Checkpoint)}")
            + (end >= newest.Checkpoint.Seq ? Invariant($"; {end - newest.Checkpoint.Seq} entries after it not yet anchored") : ""));
        return new AnchoredVerification(chain, findings, notes);
    }

    private static string CheckpointFileName(string path) => Path.GetFileName(path);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
