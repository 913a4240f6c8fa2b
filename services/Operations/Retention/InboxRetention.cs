using System.Diagnostics.Metrics;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Retention;

/// <summary>
/// How long an inbox keeps a body after its receiving system acknowledged it (configuration section "Retention"), per
/// message type (the purpose) with a default. A withdrawn body is deleted at once by the database itself (migration
/// 0009); the ledger is the consent service's and is never pruned by the hub; nothing here touches an error queue.
/// </summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>For a purpose not named in <see cref="AfterAcknowledgement"/>.</summary>
    public TimeSpan DefaultAfterAcknowledgement { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Per purpose (e.g. <c>Retention__AfterAcknowledgement__ReportOfConcern=90.00:00:00</c>).</summary>
    public Dictionary<Purpose, TimeSpan> AfterAcknowledgement { get; set; } = [];

    /// <summary>How often a pruning run looks for bodies past their time.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan KeepFor(Purpose purpose) => AfterAcknowledgement.TryGetValue(purpose, out var period) ? period : DefaultAfterAcknowledgement;
}

/// <summary>
/// Deletes acknowledged bodies past their retention, in runs of at most <see cref="BatchSize"/> rows, keeping each row's
/// metadata. Each run reports what it removed as counts by receiving unit and purpose: metadata only, never a subject.
/// Several instances of a service may run it at once: the UPDATE is idempotent and each row is deleted once.
/// </summary>
internal sealed partial class InboxRetention(
    NpgsqlDataSource db, IOptions<RetentionOptions> options, TimeProvider clock, ILogger<InboxRetention> logger) : BackgroundService
{
    private const int BatchSize = 1000;

    private static readonly Counter<long> Deleted = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.inbox.bodies_deleted", description: "Inbox bodies deleted after their retention (metadata kept).");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        do
        {
            try
            {
                await RunAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // A database away delays the run to the next tick; nothing is lost by waiting.
                LogRunFailed(logger, ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One pruning run: what it deleted, by receiving unit and purpose.</summary>
    public async Task<IReadOnlyList<PrunedCount>> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var named = settings.AfterAcknowledgement.Keys.Select(purpose => purpose.ToString()).ToArray();
        var removed = new List<PrunedCount>();
        // Each named purpose by its own period, then every other purpose by the default.
        var rules = settings.AfterAcknowledgement.Select(rule => (Purposes: new[] { rule.Key.ToString() }, Except: Array.Empty<string>(), Before: now - rule.Value))
            .Append((Purposes: Array.Empty<string>(), Except: named, Before: now - settings.DefaultAfterAcknowledgement));
        foreach (var (purposes, except, before) in rules)
        {
            while (true)
            {
                await using var connection = await db.OpenConnectionAsync(cancellationToken);
                var batch = (await connection.QueryAsync<PrunedCount>(
                    """
                    WITH due AS (
                        SELECT seq FROM inbox
                        WHERE body_deleted_at IS NULL AND acknowledged_at IS NOT NULL AND acknowledged_at <= @before
                          AND (cardinality(@purposes) = 0 OR purpose = ANY(@purposes)) AND NOT (purpose = ANY(@except))
                        ORDER BY acknowledged_at LIMIT @batch FOR UPDATE SKIP LOCKED),
                    deleted AS (
                        UPDATE inbox SET content = NULL, subject_id = NULL, basis_evidence = NULL, body_deleted_at = @now
                        FROM due WHERE inbox.seq = due.seq
                        RETURNING inbox.receiving_unit, inbox.purpose)
                    SELECT receiving_unit AS ReceivingUnit, purpose AS Purpose, count(*) AS Count FROM deleted GROUP BY 1, 2
                    """,
                    new { before, purposes, except, now, batch = BatchSize })).ToList();
                removed.AddRange(batch);
                if (batch.Sum(count => count.Count) < BatchSize)
                {
                    break;
                }
            }
        }

        foreach (var count in removed)
        {
            Deleted.Add(count.Count, new KeyValuePair<string, object?>("purpose", count.Purpose));
            LogDeleted(logger, count.Count, count.ReceivingUnit, count.Purpose);
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Count} acknowledged bodies of {ReceivingUnit}, purpose {Purpose} (metadata kept).")]
    private static partial void LogDeleted(ILogger logger, long count, string receivingUnit, string purpose);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention run failed ({Error}); tried again at the next interval.")]
    private static partial void LogRunFailed(ILogger logger, string error);
}

/// <summary>How many bodies one run deleted for one receiving unit and purpose.</summary>
public sealed record PrunedCount(string ReceivingUnit, string Purpose, long Count);

internal static class RetentionExtensions
{
    public static IServiceCollection AddInboxRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section)
            .Validate(o => o.Interval > TimeSpan.Zero && o.DefaultAfterAcknowledgement >= TimeSpan.Zero && o.AfterAcknowledgement.Values.All(v => v >= TimeSpan.Zero),
                "Retention: the interval must be positive and no period negative.")
            .ValidateOnStart();
        services.AddHostedService<InboxRetention>();
        return services;
    }
}
