using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using FamiljecentralHub.Operations.Inbox;
using FamiljecentralHub.ServiceDefaults.Data;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks;

/// <summary>
/// Pushes what is owed to units with a webhook, driven by the database so that a crash loses nothing: a row is owed a
/// push until it is fetched (by a pull or a push), acknowledged or withdrawn. One dispatcher per service instance;
/// instances share the work through FOR UPDATE SKIP LOCKED.
/// <para>
/// The claimed rows stay locked while they are pushed. That is what keeps a push and a revocation apart: the
/// revocation's UPDATE waits for the lock and then re-checks fetched_at, so a withdrawn row is never pushed and a
/// pushed row (marked fetched in the same transaction) is never withdrawn — the revocation gives a notice instead.
/// The pipeline's total timeout bounds that wait.
/// </para>
/// </summary>
internal sealed class WebhookDispatcher(
    NpgsqlDataSource db, WebhookSender sender, IOptions<WebhookOptions> options, TimeProvider clock, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    public const string InboxItemEvent = "inbox-item";
    public const string RevocationNoticeEvent = "revocation-notice";

    // As the HTTP API writes it (web defaults, enums as strings), so a push and a pull carry the same JSON.
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.TestOnlyAllowLoopbackReceivers)
        {
            // Loud on purpose: with this on, a registered webhook may point at this machine. Tests set it; nothing else should.
            logger.LogCritical(
                "Webhooks:TestOnlyAllowLoopbackReceivers is ON: webhooks on loopback are accepted. This is for automated tests only; turn it off.");
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var busy = false;
            try
            {
                busy = await DispatchOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The database is away, say: what is owed stays owed, and the next round picks it up.
                logger.LogWarning("Webhook dispatch round failed ({Error}); next round as usual.", ex.GetType().Name);
            }

            if (!busy)
            {
                try
                {
                    await Task.Delay(options.Value.PollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One round: a batch of inbox items, then a batch of notices. True when a batch was full (more may wait).</summary>
    public async Task<bool> DispatchOnceAsync(CancellationToken cancellationToken)
    {
        var items = await PushInboxAsync(cancellationToken);
        var notices = await PushNoticesAsync(cancellationToken);
        return items >= options.Value.BatchSize || notices >= options.Value.BatchSize;
    }

    private async Task<int> PushInboxAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<InboxApi.InboxRow>(new CommandDefinition(
            $"""
            SELECT {InboxApi.Columns} FROM inbox
            WHERE fetched_at IS NULL AND acknowledged_at IS NULL AND withdrawn_at IS NULL
              AND (next_push_at IS NULL OR next_push_at <= @now)
              AND receiving_unit IN (SELECT receiving_unit FROM webhooks)
            ORDER BY seq LIMIT @take
            FOR UPDATE SKIP LOCKED
            """,
            new { now = clock.GetUtcNow(), take = options.Value.BatchSize }, tx, cancellationToken: cancellationToken))).ToList();
        if (rows.Count == 0)
        {
            return 0;
        }

        var hooks = await HooksAsync(connection, tx, rows.Select(r => r.ReceivingUnit), cancellationToken);
        var outcomes = await Task.WhenAll(rows.Select(async row => (row.Seq, Outcome:
            hooks.TryGetValue(row.ReceivingUnit, out var hook)
                ? await sender.PushAsync(hook, row.MessageId.ToString(), InboxItemEvent, JsonSerializer.Serialize(row.ToItem(), Json), cancellationToken)
                : PushOutcome.NotSent)));

        // One the receiving system may hold though it did not take it: pushed again, and a revocation meanwhile withdraws it
        // and lists it in the notice too (ConsentRevokedConsumer), where a withdrawal alone would leave the system unaware.
        await connection.ExecuteAsync(
            "UPDATE inbox SET maybe_received_at = COALESCE(maybe_received_at, @now) WHERE seq = ANY(@seqs)",
            new { now = clock.GetUtcNow(), seqs = outcomes.Where(o => o.Outcome == PushOutcome.MaybeReceived).Select(o => o.Seq).ToArray() }, tx);
        // A pushed item is fetched: the receiving system has it, so a revocation now gives a notice, not a withdrawal.
        await RecordAsync(connection, tx, "inbox", "fetched_at = COALESCE(fetched_at, @now), pushed_at = @now",
            outcomes.Select(o => (o.Seq, o.Outcome == PushOutcome.Pushed)).ToArray());
        return rows.Count;
    }

    private async Task<int> PushNoticesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<NoticeRow>(new CommandDefinition(
            """
            SELECT seq AS Cursor, receiving_unit AS ReceivingUnit, consent_id AS ConsentId, message_ids AS MessageIds, revoked_at AS RevokedAt,
                   change_id AS ChangeId
            FROM revocation_notices
            WHERE pushed_at IS NULL AND (next_push_at IS NULL OR next_push_at <= @now)
              AND receiving_unit IN (SELECT receiving_unit FROM webhooks)
            ORDER BY seq LIMIT @take
            FOR UPDATE SKIP LOCKED
            """,
            new { now = clock.GetUtcNow(), take = options.Value.BatchSize }, tx, cancellationToken: cancellationToken))).ToList();
        if (rows.Count == 0)
        {
            return 0;
        }

        var hooks = await HooksAsync(connection, tx, rows.Select(r => r.ReceivingUnit), cancellationToken);
        var outcomes = await Task.WhenAll(rows.Select(async row => (Seq: row.Cursor, Pushed:
            hooks.TryGetValue(row.ReceivingUnit, out var hook)
            && await sender.PushAsync(hook, NoticeDeliveryId(row), RevocationNoticeEvent, JsonSerializer.Serialize(row.ToNotice(), Json), cancellationToken)
                == PushOutcome.Pushed)));

        await RecordAsync(connection, tx, "revocation_notices", "pushed_at = @now", outcomes);
        return rows.Count;
    }

    /// <summary>
    /// A notice's idempotency key. A notice is one per receiving unit, consent and change (or revocation): one change
    /// that takes cover from several consents makes several notices, and one system may take the notices of several
    /// units at one address, so neither the change's id nor the consent's alone tells them apart. The same on every push.
    /// </summary>
    private static string NoticeDeliveryId(NoticeRow row) =>
        NameBasedId.Of($"revocation-notice:{row.ReceivingUnit}:{row.ConsentId:N}:{row.ChangeId:N}").ToString();

    /// <summary>
    /// Marks what was pushed and backs off what was not, then commits. Not cancelled: what was pushed is best recorded
    /// even during shutdown. <paramref name="table"/> and <paramref name="pushedSet"/> are this class's own constants.
    /// </summary>
    private async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string table, string pushedSet, (long Seq, bool Pushed)[] outcomes)
    {
        await connection.ExecuteAsync(
            $"UPDATE {table} SET {pushedSet} WHERE seq = ANY(@seqs)",
            new { now = clock.GetUtcNow(), seqs = outcomes.Where(o => o.Pushed).Select(o => o.Seq).ToArray() }, tx);
        await connection.ExecuteAsync(
            $"UPDATE {table} SET push_attempts = push_attempts + 1, next_push_at = {NextPush} WHERE seq = ANY(@seqs)",
            BackoffParameters(outcomes.Where(o => !o.Pushed).Select(o => o.Seq)), tx);
        await tx.CommitAsync(CancellationToken.None);
    }

    // base × 2^(attempts so far), capped, ±20 % jitter so that a backlog does not come back all at once.
    private const string NextPush =
        "@now + make_interval(secs => least(@baseSeconds * power(2, least(push_attempts, 30)), @maxSeconds) * (0.8 + random() * 0.4))";

    private object BackoffParameters(IEnumerable<long> seqs) => new
    {
        now = clock.GetUtcNow(),
        seqs = seqs.ToArray(),
        baseSeconds = options.Value.BackoffBase.TotalSeconds,
        maxSeconds = options.Value.BackoffMax.TotalSeconds,
    };

    private static async Task<Dictionary<string, Webhook>> HooksAsync(
        NpgsqlConnection connection, NpgsqlTransaction tx, IEnumerable<string> units, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<Webhook>(new CommandDefinition(
            "SELECT receiving_unit AS Unit, url AS Url, secret AS Secret FROM webhooks WHERE receiving_unit = ANY(@units)",
            new { units = units.Distinct().ToArray() }, tx, cancellationToken: cancellationToken)))
        .ToDictionary(h => h.Unit);

    // Dapper fills properties: Npgsql reports array columns as System.Array.
    private sealed class NoticeRow
    {
        public long Cursor { get; init; }
        public string ReceivingUnit { get; init; } = "";
        public Guid ConsentId { get; init; }
        public Guid[] MessageIds { get; init; } = [];
        public DateTimeOffset RevokedAt { get; init; }
        public Guid? ChangeId { get; init; }

        public RevocationNotice ToNotice() => new() { Cursor = Cursor, ConsentId = ConsentId, MessageIds = MessageIds, RevokedAt = RevokedAt, ChangeId = ChangeId };
    }
}
