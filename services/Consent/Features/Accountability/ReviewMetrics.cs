using System.Diagnostics.Metrics;
using FamiljecentralHub.ServiceDefaults.Telemetry;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>
/// Open and overdue reviews per responsible unit as gauges (<c>hub_reviews_overdue{unit}</c>, <c>hub_reviews_open{unit}</c>),
/// counted every half minute: the same numbers as <c>GET /consent/accountability/reviews/overdue</c>, for Ops's
/// "disclosure-reviews-overdue" alert and Prometheus (issue 14 item 2). Unit ids and counts only.
/// </summary>
internal sealed partial class ReviewMetrics(ReviewQueue queue, ILogger<ReviewMetrics> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    private volatile IReadOnlyList<UnitReviewCount> counts = [];
    private volatile bool read;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Nothing is reported until the first count: a gauge of zero would say "none overdue" before anyone looked.
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.ReviewsOverdue, () => Measure(c => c.Overdue),
            description: "Flagged disclosures not reviewed in time, by responsible unit.");
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.ReviewsOpen, () => Measure(c => c.Open),
            description: "Flagged disclosures waiting for review, by responsible unit.");
        using var timer = new PeriodicTimer(Every);
        do
        {
            try
            {
                counts = await queue.CountAsync(units: null, stoppingToken);
                read = true;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogCountFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private IEnumerable<Measurement<int>> Measure(Func<UnitReviewCount, int> value) =>
        read ? counts.Select(c => new Measurement<int>(value(c), new KeyValuePair<string, object?>("unit", c.Unit))) : [];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counting open reviews for the metrics failed ({Failure}); trying again shortly.")]
    private static partial void LogCountFailed(ILogger logger, string failure);
}
