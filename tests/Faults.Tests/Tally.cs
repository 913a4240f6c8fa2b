using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>What one fault run comes to, counted from the client's log and the hub's own databases.</summary>
public sealed record FaultResult(
    string Fault,
    int Sent,
    int Accepted,
    int GaveUp,
    int Refused,
    int Delivered,
    int Lost,
    int Duplicated,
    int Leaked,
    int NotDecidedOnce,
    int RejectedAttempts,
    TimeSpan Recovery)
{
    /// <summary>
    /// Messages still in the gate's and the receiver's queues (ready or unacknowledged) when counting ended, after waiting
    /// for them to drain: a lost referral that is still queued is stalled, not gone. -1 when the broker could not be
    /// asked.
    /// </summary>
    public int StillQueued { get; init; }

    /// <summary>
    /// Services that ended by themselves during the run and were started again by their supervisor (LocalHub): the
    /// messaging watchdog stopping a service wedged on a dead broker connection, or a crash. Kills by the fault itself
    /// are not counted.
    /// </summary>
    public int SelfRestarts { get; init; }

    /// <summary>Each message id named in a lost, duplicated, leaked or undecided count, for the failure message.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>The client's log of the run, for checks particular to one fault.</summary>
    public IReadOnlyList<Submission> Submissions { get; init; } = [];

    /// <summary>When each accepted referral had its outcome: stored in the inbox, or refused by the gate.</summary>
    public IReadOnlyDictionary<Guid, DateTimeOffset> Outcomes { get; init; } = new Dictionary<Guid, DateTimeOffset>();

    public DateTimeOffset InjectedAt { get; init; }

    public DateTimeOffset HealedAt { get; init; }

    /// <summary>Children whose consent was revoked during the run, with the moment the hub confirmed it.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Revoked { get; init; } = new Dictionary<string, DateTimeOffset>();
}

/// <summary>
/// Jepsen-style accounting: every referral the client saw accepted (202) is joined with the receiver's inbox rows
/// and the gate's ledger. Lost: accepted with consent and never in the inbox; or permitted and neither stored nor
/// withdrawn (a consent revoked meanwhile may lawfully stop a permitted referral at the receiver, which the ledger
/// records as a withdrawal). Duplicated: an idempotency key that got two message ids, or a message in the inbox or
/// decided more than once. Leaked: an inbox row for a child without consent, or one the ledger holds no permit for.
/// Decided once: exactly one decision in the ledger per accepted message.
/// </summary>
public static class Tally
{
    private sealed record InboxRow(Guid MessageId, string SubjectId, DateTime DeliveredAt);

    private sealed record Entry(Guid MessageId, string Kind, string Outcome, DateTime At);

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) until every accepted referral has its outcome and the gate's and the
    /// receiver's queues are empty, then counts: redeliveries still queued after a fault are handled before the
    /// duplicates are counted, not after.
    /// </summary>
    public static async Task<FaultResult> CountAsync(
        Hub hub, string fault, IReadOnlyList<Submission> submissions, DateTimeOffset healedAt, TimeSpan timeout,
        IReadOnlySet<string> revokedSubjects, CancellationToken cancellationToken)
    {
        var accepted = submissions.Where(s => s.MessageId is not null).ToList();
        var ids = accepted.Select(s => s.MessageId!.Value).ToArray();
        var subjects = submissions.Select(s => s.Subject).Distinct().ToArray();
        var emptyBefore = false;
        // Counted when time is up as well: what is still missing is then reported as lost, which is the verdict.
        var (inbox, decisions, withdrawn, stillQueued, _) = await Eventually.MatchOrLastAsync(
            async () =>
            {
                var rows = await QueryAsync<InboxRow>(hub, "social-services",
                    "SELECT message_id AS MessageId, subject_id AS SubjectId, delivered_at AS DeliveredAt FROM inbox WHERE subject_id = ANY(@subjects)",
                    new { subjects }, cancellationToken);
                var ledger = await QueryAsync<Entry>(hub, "consent",
                    "SELECT message_id AS MessageId, kind AS Kind, outcome AS Outcome, at AS At FROM ledger WHERE message_id = ANY(@ids)",
                    new { ids }, cancellationToken);
                var decided = ledger.Where(e => e.Kind == "decision").ToList();
                var withdrawals = ledger.Where(e => e.Kind == "withdrawal").Select(e => e.MessageId).ToHashSet();
                var stored = rows.Select(row => row.MessageId).ToHashSet();
                var outcome = decided.ToDictionary(d => d.MessageId, d => d.Outcome);
                var settled = accepted.All(s => outcome.TryGetValue(s.MessageId!.Value, out var o)
                    && (o == "refused" || stored.Contains(s.MessageId!.Value) || withdrawals.Contains(s.MessageId!.Value)));
                var queued = await StillQueuedAsync(hub, cancellationToken);
                // Empty twice a second apart: the broker's queue counts may be a second old.
                var drained = settled && queued == 0 && emptyBefore;
                emptyBefore = queued == 0;
                return (Inbox: rows, Decisions: decided, Withdrawn: withdrawals, StillQueued: queued, Drained: drained);
            },
            look => look.Drained, timeout, TimeSpan.FromSeconds(1), cancellationToken);

        var problems = new List<string>();
        var inboxById = inbox.ToLookup(row => row.MessageId);
        var decisionsById = decisions.ToLookup(d => d.MessageId);
        var consentedSubjects = submissions.Where(s => s.Consented).Select(s => s.Subject).ToHashSet();

        var lost = accepted.Where(s => !inboxById.Contains(s.MessageId!.Value)
                && ((s.Consented && !revokedSubjects.Contains(s.Subject))
                    || (decisionsById[s.MessageId!.Value].Any(d => d.Outcome == "permitted") && !withdrawn.Contains(s.MessageId!.Value))))
            .ToList();
        problems.AddRange(lost.Select(s => $"lost {s.MessageId}"));

        var duplicated = submissions.Where(s => s.MessageIdsSeen.Count > 1).Select(s => $"key {s.IdempotencyKey} got {s.MessageIdsSeen.Count} ids")
            .Concat(inboxById.Where(g => g.Count() > 1).Select(g => $"{g.Key} in the inbox {g.Count()} times"))
            .Concat(decisionsById.Where(g => g.Count() > 1).Select(g => $"{g.Key} decided {g.Count()} times"))
            .ToList();
        problems.AddRange(duplicated);

        var leaked = inbox.Where(row => !consentedSubjects.Contains(row.SubjectId)
                || !decisionsById[row.MessageId].Any(d => d.Outcome == "permitted"))
            .Select(row => $"leaked {row.MessageId}")
            .ToList();
        problems.AddRange(leaked);

        var notDecidedOnce = accepted.Where(s => decisionsById[s.MessageId!.Value].Count() != 1).ToList();
        problems.AddRange(notDecidedOnce.Select(s => $"{s.MessageId} decided {decisionsById[s.MessageId!.Value].Count()} times"));

        var outcomes = new Dictionary<Guid, DateTimeOffset>();
        foreach (var s in accepted)
        {
            var id = s.MessageId!.Value;
            DateTime? at = decisionsById[id].Any(d => d.Outcome == "refused")
                ? decisionsById[id].First().At
                : inboxById[id].Select(row => (DateTime?)row.DeliveredAt).FirstOrDefault();
            if (at is not null)
            {
                outcomes[id] = new DateTimeOffset(DateTime.SpecifyKind(at.Value, DateTimeKind.Utc));
            }
        }

        // Time to recover: from the start of healing until the last referral the fault held up had its outcome.
        var lastOutcome = accepted
            .Where(s => s.FirstAttemptAt < healedAt && outcomes.ContainsKey(s.MessageId!.Value))
            .Select(s => outcomes[s.MessageId!.Value])
            .DefaultIfEmpty(healedAt)
            .Max();

        return new FaultResult(
            fault,
            Sent: submissions.Count,
            Accepted: accepted.Count,
            GaveUp: submissions.Count - accepted.Count,
            Refused: accepted.Count(s => decisionsById[s.MessageId!.Value].Any(d => d.Outcome == "refused")),
            Delivered: accepted.Count(s => inboxById.Contains(s.MessageId!.Value)),
            Lost: lost.Count,
            Duplicated: duplicated.Count,
            Leaked: leaked.Count,
            NotDecidedOnce: notDecidedOnce.Count,
            RejectedAttempts: submissions.Sum(s => s.Rejections.Count),
            Recovery: lastOutcome > healedAt ? lastOutcome - healedAt : TimeSpan.Zero)
        { Problems = problems, Outcomes = outcomes, StillQueued = stillQueued };
    }

    private static async Task<int> StillQueuedAsync(Hub hub, CancellationToken cancellationToken)
    {
        foreach (var node in hub.RabbitNodes)
        {
            try
            {
                var total = 0;
                foreach (var queue in new[] { "consent-gate", "social-services-deliveries" })
                {
                    var info = await node.GetManagementAsync($"queues/{Uri.EscapeDataString(hub.VirtualHost)}/{queue}", cancellationToken);
                    total += info.GetProperty("messages_ready").GetInt32() + info.GetProperty("messages_unacknowledged").GetInt32();
                }

                return total;
            }
            catch (Exception e) when (e is HttpRequestException or LocalHubException or KeyNotFoundException or InvalidOperationException)
            {
                // That node is down or does not know yet; ask the next.
            }
        }

        return -1;
    }

    private static async Task<List<T>> QueryAsync<T>(Hub hub, string service, string sql, object parameters, CancellationToken cancellationToken)
    {
        // The database may itself be the fault that is still healing: wait for it like the services do.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(hub.ConnectionString(service));
                await connection.OpenAsync(cancellationToken);
                return [.. await connection.QueryAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken))];
            }
            catch (NpgsqlException e) when (e.IsTransient && attempt < 60)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }
}
