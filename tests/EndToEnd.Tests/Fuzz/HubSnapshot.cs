using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests.Fuzz;

/// <summary>
/// Everything the hub keeps, as digests: every row of every table of every service's database (less the webhook
/// dispatcher's own bookkeeping, which changes by itself) and the depth of every error queue. Comparing two snapshots
/// finds every row that appeared or changed in between, whoever caused it.
/// </summary>
internal sealed record HubSnapshot(
    IReadOnlyDictionary<string, HashSet<string>> RowDigests, IReadOnlyDictionary<string, long> ErrorQueueDepths, long MessagesInFlight)
{
    /// <summary>Columns a running hub changes with no request at all (the webhook dispatcher's retries, what a pull fetched).</summary>
    private static readonly string[] VolatileColumns = ["fetched_at", "next_push_at", "push_attempts", "pushed_at", "last_push_error", "last_push_at"];

    public static async Task<HubSnapshot> TakeAsync(Hub hub, CancellationToken cancellationToken)
    {
        var digests = new Dictionary<string, HashSet<string>>();
        foreach (var service in Hub.ServiceNames)
        {
            await using var connection = new NpgsqlConnection(hub.ConnectionString(service));
            var tables = await connection.QueryAsync<string>(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1");
            foreach (var table in tables)
            {
                // The row as JSON less the volatile columns, and the row itself for attribution.
                var rows = await connection.QueryAsync<string>(new CommandDefinition(
                    $"SELECT (to_jsonb(t) - @volatile::text[])::text FROM \"{table}\" t", new { @volatile = VolatileColumns }, cancellationToken: cancellationToken));
                digests[$"{service}.{table}"] = rows.ToHashSet(StringComparer.Ordinal);
            }
        }

        var (errorQueues, inFlight) = await QueuesAsync(hub, cancellationToken);
        return new HubSnapshot(digests, errorQueues, inFlight);
    }

    /// <summary>
    /// Waits until the hub has finished what earlier requests started: no message ready or being retried in any queue
    /// (a consumer's retries hold a message unacknowledged for up to 18 s) for three looks two seconds apart, which
    /// outlasts the management API's 5 s statistics interval, and the last two snapshots agree.
    /// </summary>
    /// <remarks>
    /// When <paramref name="atMost"/> is up it returns the last snapshot all the same: the fuzz test's judgement of the
    /// rows that appeared, not this wait, says whether what was still moving matters.
    /// </remarks>
    public static async Task<HubSnapshot> TakeWhenSettledAsync(Hub hub, TimeSpan atMost, CancellationToken cancellationToken)
    {
        HubSnapshot? last = null;
        var quiet = 0;
        var settled = await Eventually.MatchOrLastAsync(
            async () =>
            {
                var next = await TakeAsync(hub, cancellationToken);
                // The first look is only the one the next is compared with.
                var isSettled = false;
                if (last is not null)
                {
                    quiet = next.MessagesInFlight == 0 ? quiet + 1 : 0;
                    isSettled = quiet >= 3 && next.SameAs(last);
                }

                last = next;
                return (Snapshot: next, Settled: isSettled);
            },
            look => look.Settled, atMost, TimeSpan.FromSeconds(2), cancellationToken);
        return settled.Snapshot;
    }

    /// <summary>Rows (by table) that are in this snapshot but not in <paramref name="before"/>: new or changed.</summary>
    public IEnumerable<(string Table, string Row)> NewSince(HubSnapshot before) =>
        RowDigests.SelectMany(t => t.Value
            .Where(row => !before.RowDigests.TryGetValue(t.Key, out var old) || !old.Contains(row))
            .Select(row => (t.Key, row)));

    private bool SameAs(HubSnapshot other) =>
        RowDigests.Count == other.RowDigests.Count
        && RowDigests.All(t => other.RowDigests.TryGetValue(t.Key, out var rows) && rows.SetEquals(t.Value))
        && ErrorQueueDepths.OrderBy(q => q.Key).SequenceEqual(other.ErrorQueueDepths.OrderBy(q => q.Key));

    // The management API's counts lag up to its statistics interval (5 s): the settling loop above outlasts it.
    private static async Task<(Dictionary<string, long> ErrorQueues, long InFlight)> QueuesAsync(Hub hub, CancellationToken cancellationToken)
    {
        var queues = (await hub.Rabbit.GetManagementAsync($"queues/{Uri.EscapeDataString(hub.VirtualHost)}?columns=name,messages", cancellationToken))
            .EnumerateArray()
            .Select(q => (Name: q.GetProperty("name").GetString()!, Messages: q.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0))
            .ToList();
        return (
            queues.Where(q => q.Name.EndsWith("_error", StringComparison.Ordinal)).ToDictionary(q => q.Name, q => q.Messages),
            queues.Where(q => !q.Name.EndsWith("_error", StringComparison.Ordinal) && !q.Name.EndsWith("_skipped", StringComparison.Ordinal)).Sum(q => q.Messages));
    }
}
