using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>
/// Anchors the ledger outside the database: at a fixed cadence, when the head has moved, signs the head (seq, hash,
/// entry count) with the gate's key and appends it to the checkpoint file. A timer beside the writer, never a cost per
/// entry. It signs a head only when the chain still holds the head it signed last: a ledger rewritten or cut below the
/// newest checkpoint gets no new checkpoint, and the refusal is logged (seq numbers only).
/// </summary>
public sealed class LedgerCheckpointer(NpgsqlDataSource db, IOptions<LedgerAnchorOptions> options, ILogger<LedgerCheckpointer> logger, TimeProvider time)
    : BackgroundService
{
    // Several gate processes may run: one checkpoints at a time, and the others skip that tick.
    private const long CheckpointLock = 7349120003;

    private readonly ECDsaSecurityKey signingKey = CheckpointKeys.LoadPrivate(options.Value.SigningKeyPath!);
    private readonly IReadOnlyDictionary<string, ECDsaSecurityKey> verificationKeys = CheckpointKeys.VerificationKeys(options.Value);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(options.Value.CheckpointDirectory!);
        using var timer = new PeriodicTimer(options.Value.CheckpointInterval, time);
        do
        {
            try
            {
                await CheckpointAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Writing a ledger checkpoint failed ({Error}); retrying at the next tick.", ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One tick: the checkpoint written, or null when the head has not moved, another process holds the turn, or the chain no longer extends the last checkpoint.</summary>
    public async Task<LedgerCheckpoint?> CheckpointAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_xact_lock(@CheckpointLock)", new { CheckpointLock }, tx))
        {
            return null;
        }

        // Committed entries only, and every one below it: the writer commits batches in chain order under its own lock.
        var head = await connection.QuerySingleOrDefaultAsync<Anchor>("SELECT seq AS Seq, hash AS Hash FROM ledger ORDER BY seq DESC LIMIT 1", transaction: tx);
        if (head is null)
        {
            return null;
        }

        var last = await LastCheckpointAsync();
        long entries;
        if (last is null)
        {
            entries = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE seq <= @Seq", new { head.Seq }, tx);
        }
        else
        {
            var signed = await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT hash FROM ledger WHERE seq = @Seq", new { last.Seq }, tx);
            var held = signed is not null && signed.AsSpan().SequenceEqual(last.Head);
            LedgerVerificationState.Record(held, last.Seq, time.GetUtcNow());
            if (!held)
            {
                logger.LogCritical(
                    "The ledger no longer holds the head checkpointed at seq {Seq} ({Problem}); no checkpoint is written. Run verify-ledger.",
                    last.Seq, signed is null ? "entry missing" : "hash differs");
                return null;
            }

            if (head.Seq == last.Seq)
            {
                return null; // the head has not moved
            }

            entries = last.Entries + await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM ledger WHERE seq > @Last AND seq <= @Seq", new { Last = last.Seq, head.Seq }, tx);
        }

        var line = CheckpointSignatures.Sign(head.Seq, head.Hash, entries, time.GetUtcNow(), signingKey);
        CheckpointFile.Append(options.Value.CheckpointPath, line);
        await tx.CommitAsync(cancellationToken);
        var (checkpoint, _) = await CheckpointSignatures.VerifyAsync(line, verificationKeys);
        if (last is null && checkpoint is not null)
        {
            // The first checkpoint: the chain holds what was just signed.
            LedgerVerificationState.Record(true, checkpoint.Seq, time.GetUtcNow());
        }

        logger.LogDebug("Ledger checkpoint at seq {Seq}.", head.Seq);
        return checkpoint;
    }

    /// <summary>The newest line that is a valid checkpoint; a line someone else added without the key is passed over.</summary>
    private async Task<LedgerCheckpoint?> LastCheckpointAsync()
    {
        foreach (var line in CheckpointFile.ReadTail(options.Value.CheckpointPath).Reverse())
        {
            if ((await CheckpointSignatures.VerifyAsync(line, verificationKeys)).Checkpoint is { } checkpoint)
            {
                return checkpoint;
            }
        }

        return null;
    }

    private sealed record Anchor(long Seq, byte[] Hash);
}
