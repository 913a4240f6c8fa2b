using System.Threading.Channels;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Messaging;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// The one writer of the hash chain in this process. A chain is a sequence, so appends cannot run in parallel; instead
/// of every consumer taking the chain lock for its own transaction, entries queue here and are written in batches:
/// one round trip for the lock and the reads, one of inserts and one commit for up to <see cref="MaxBatch"/> entries. Each
/// caller's task completes only after its batch is committed. Several gate processes still serialise on the
/// database's advisory lock, so the chain stays one chain.
/// </summary>
public sealed class LedgerWriter(NpgsqlDataSource db) : BackgroundService
{
    private const int MaxBatch = 256;
    private const long ChainLock = 7349120002;

    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>
    /// Appends the entry unless one of the same kind already exists for the message, and returns whichever is in the
    /// ledger: a redelivered message is decided once, and the first decision is the one that stands. A delivery,
    /// withdrawal or acknowledgement is appended only about a message the gate permitted, between the same units, about
    /// the same subject and purpose; otherwise <see cref="UnpermittedLifecycleException"/>, and nothing is written.
    /// </summary>
    public Task<LedgerEntry> AppendAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        var item = new Pending(entry, new TaskCompletionSource<LedgerEntry>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(item))
        {
            throw new MetadataOnlyException("The ledger writer has stopped.");
        }

        return item.Result.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(MaxBatch);
        while (await pending.Reader.WaitToReadAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && pending.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var written = await WriteAsync(batch.Select(p => p.Entry).ToList(), stoppingToken);
                for (var i = 0; i < batch.Count; i++)
                {
                    Settle(batch[i], written[i]);
                }
            }
            catch (PostgresException ex) when (!ex.IsTransient && batch.Count > 1)
            {
                // The database refused an entry itself (a constraint, a value it cannot store). Whichever it was, the
                // entries batched with it by chance must not share its fate: retried in step, they would meet it in the
                // same batch on every retry and be parked with it. Written one by one, only the refused one fails.
                foreach (var p in batch)
                {
                    await WriteAloneAsync(p, stoppingToken);
                }
            }
            catch (Exception ex)
            {
                // Nothing of the batch is committed: every caller fails, its message is redelivered and decided again.
                foreach (var p in batch)
                {
                    p.Result.TrySetException(ex);
                }
            }
        }
    }

    private async Task WriteAloneAsync(Pending p, CancellationToken cancellationToken)
    {
        try
        {
            Settle(p, (await WriteAsync([p.Entry], cancellationToken))[0]);
        }
        catch (Exception ex)
        {
            p.Result.TrySetException(ex);
        }
    }

    private static void Settle(Pending p, LedgerEntry? written)
    {
        if (written is { } entry)
        {
            p.Result.TrySetResult(entry);
        }
        else
        {
            p.Result.TrySetException(new UnpermittedLifecycleException());
        }
    }

    /// <returns>
    /// For each entry, in order, the entry of its kind in the ledger, or null for a lifecycle entry its message's permit does
    /// not cover. A refused entry holds no place: the true one of the same kind later in the batch is still written.
    /// </returns>
    private async Task<LedgerEntry?[]> WriteAsync(List<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        // The chain's lock, then what the ledger already holds for these messages and the chain's head, as one command
        // (one round trip): PostgreSQL runs its statements in order, each reading what was committed before it, so both
        // reads see every batch committed before the lock was granted.
        ChainHead? head;
        var inLedger = new Dictionary<(Guid, string), LedgerEntry>(); // by the kind's text: a conflict's kind is one per refused digest
        await using (var reads = await connection.QueryMultipleAsync(new CommandDefinition(
            $"""
            SELECT pg_advisory_xact_lock(@ChainLock);
            SELECT {DecisionLedger.Columns} FROM ledger WHERE message_id = ANY(@ids);
            SELECT seq AS Seq, hash AS Hash FROM ledger ORDER BY seq DESC LIMIT 1
            """,
            new { ChainLock, ids = entries.Select(e => e.MessageId).Distinct().ToArray() }, tx, cancellationToken: cancellationToken)))
        {
            await reads.ReadAsync();
            foreach (var e in await reads.ReadAsync<LedgerRow>())
            {
                inLedger[(e.MessageId, e.Kind)] = e.RequireEntry();
            }

            head = await reads.ReadSingleOrDefaultAsync<ChainHead>();
        }

        var result = new LedgerEntry?[entries.Count];
        var seq = head?.Seq ?? 0;
        var prevHash = head?.Hash ?? new byte[32];
        await using var inserts = new NpgsqlBatch(connection, tx);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (inLedger.TryGetValue((entry.MessageId, entry.KindText), out var first))
            {
                result[i] = first; // already in the ledger, or earlier in this batch
                continue;
            }

            if (IsLifecycle(entry.Kind) && !IsCoveredByPermit(entry, inLedger.GetValueOrDefault((entry.MessageId, DecisionKind))))
            {
                continue;
            }

            // PostgreSQL keeps microseconds: hash the time as it will be read back.
            var at = new DateTimeOffset(entry.At.UtcTicks - (entry.At.UtcTicks % 10), TimeSpan.Zero);
            var linked = entry with { Seq = ++seq, At = at, PrevHash = prevHash };
            linked = linked with { Hash = linked.ComputeHash(prevHash) };
            prevHash = linked.Hash;
            inLedger[(entry.MessageId, entry.KindText)] = result[i] = linked;
            inserts.BatchCommands.Add(Insert(linked));
        }

        if (inserts.BatchCommands.Count > 0)
        {
            await inserts.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return result;
    }

    private static readonly string DecisionKind = LedgerText.Of(LedgerKind.Decision);

    private static bool IsLifecycle(LedgerKind kind) => kind is LedgerKind.Delivery or LedgerKind.Withdrawal or LedgerKind.Acknowledgement;

    /// <summary>
    /// What happened to a message after the gate is recorded only about a message the gate permitted, and only as that
    /// permit has it: the publisher's name is the broker's word (StatusEventOrigin), the rest of the event is not, so a
    /// receiving service cannot record a step of another receiver's message by naming its own unit in the event.
    /// </summary>
    private static bool IsCoveredByPermit(LedgerEntry entry, LedgerEntry? decision) =>
        decision is { Outcome: LedgerOutcome.Permitted }
        && decision.SendingUnit == entry.SendingUnit
        && decision.ReceivingUnit == entry.ReceivingUnit
        && decision.SubjectPseudonym == entry.SubjectPseudonym
        && decision.Purpose == entry.Purpose;

    private static NpgsqlBatchCommand Insert(LedgerEntry e) => new(
        """
        INSERT INTO ledger (seq, message_id, kind, outcome, sending_unit, receiving_unit, acting_system, acting_user, subject_pseudonym,
                            purpose, categories, basis, consent_id, reasons, review, at, prev_hash, hash, digest)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
        """)
    {
        Parameters =
        {
            new() { Value = e.Seq }, new() { Value = e.MessageId }, new() { Value = e.KindText }, new() { Value = e.OutcomeText },
            new() { Value = e.SendingUnit }, new() { Value = e.ReceivingUnit }, new() { Value = e.ActingSystem },
            new() { Value = (object?)e.ActingUser ?? DBNull.Value }, new() { Value = e.SubjectPseudonym }, new() { Value = e.Purpose },
            new() { Value = e.Categories }, new() { Value = (object?)e.Basis ?? DBNull.Value }, new() { Value = (object?)e.ConsentId ?? DBNull.Value },
            new() { Value = e.Reasons }, new() { Value = e.Review }, new() { Value = e.At.UtcDateTime }, new() { Value = e.PrevHash },
            new() { Value = e.Hash }, new() { Value = (object?)e.Digest ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
        },
    };

    private sealed record Pending(LedgerEntry Entry, TaskCompletionSource<LedgerEntry> Result);

    private sealed record ChainHead(long Seq, byte[] Hash);
}

/// <summary>A delivery, withdrawal or acknowledgement about a message the gate did not permit as the event has it.</summary>
public sealed class UnpermittedLifecycleException()
    : MetadataOnlyException("The event is about no message the gate permitted between these units; not recorded.");
