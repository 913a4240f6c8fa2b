using System.Diagnostics.Metrics;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.Topology;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>
/// Every Alerts:EvaluateEvery, reads what the rules look at (<see cref="AlertSources"/>), lets the rules say what is wrong
/// (<see cref="AlertRules"/>), raises and clears alerts in the store (<see cref="AlertStore"/>) and queues each raise and
/// clear for the webhook (<see cref="AlertWebhook"/>). It also keeps the queue-depth and alert-state gauges Ops exports.
/// One failed evaluation is logged and the next one tries again: the store is the state, not this process.
/// </summary>
internal sealed partial class AlertEvaluator(
    AlertSources sources, AlertStore store, AlertWebhook webhook, IOptionsMonitor<AlertOptions> options, TimeProvider clock, ILogger<AlertEvaluator> logger)
    : BackgroundService
{
    private static readonly HashSet<string> WatchdogNames = [HubMetrics.WatchdogLastRestartPrometheus];
    private static readonly HashSet<string> ConsentNames = [HubMetrics.LedgerVerifiedPrometheus, HubMetrics.ReviewsOverduePrometheus];
    private static readonly HashSet<string> GatewayNames = [HubMetrics.ClientCertificateExpiryPrometheus];

    private readonly AlertStateMachine machine = new(options.CurrentValue);
    private volatile IReadOnlyList<QueueDepth> queues = [];
    private volatile IReadOnlyDictionary<string, int> openByRule = new Dictionary<string, int>();

    /// <summary>Queue depths and consumers as last read from the broker (Ops's gauges; the console may show them).</summary>
    public IReadOnlyList<QueueDepth> LastQueues => queues;

    internal void RegisterGauges()
    {
        var meter = TelemetryExtensions.Meter;
        meter.CreateObservableGauge("hub.queue.messages", () => queues.Select(q => new Measurement<long>(q.Messages, new KeyValuePair<string, object?>("queue", q.Name))),
            description: "Messages in each queue of the hub's virtual host, as Ops last read them from the broker.");
        meter.CreateObservableGauge("hub.queue.consumers", () => queues.Select(q => new Measurement<long>(q.Consumers, new KeyValuePair<string, object?>("queue", q.Name))),
            description: "Consumers of each queue of the hub's virtual host.");
        meter.CreateObservableGauge("hub.alerts.open", () => AlertRules.All.Select(rule => new Measurement<int>(
                openByRule.GetValueOrDefault(rule), new KeyValuePair<string, object?>("rule", rule))),
            description: "Open alerts by rule (1 or more: firing).");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        RegisterGauges();
        using var timer = new PeriodicTimer(options.CurrentValue.EvaluateEvery, clock);
        do
        {
            if (!options.CurrentValue.Enabled)
            {
                continue;
            }

            try
            {
                await EvaluateAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogEvaluationFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One evaluation: observe, plan, store, push.</summary>
    internal async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var observations = await ObserveAsync(now, cancellationToken);
        var open = await store.OpenAsync(cancellationToken);
        var plan = machine.Plan(now, observations, open.Select(a => new OpenAlert(a.Id, a.Rule, a.Key)));
        foreach (var condition in plan.Raise)
        {
            if (await store.RaiseAsync(condition, now, cancellationToken) is { } raised)
            {
                LogRaised(logger, raised.Rule, raised.Key);
                webhook.Enqueue(new AlertEvent("raised", raised));
            }
        }

        foreach (var alert in plan.Clear)
        {
            if (await store.ClearAsync(alert.Id, now, cancellationToken) is { } cleared)
            {
                LogCleared(logger, cleared.Rule, cleared.Key);
                webhook.Enqueue(new AlertEvent("cleared", cleared));
            }
        }

        openByRule = (await store.OpenAsync(cancellationToken)).GroupBy(a => a.Rule).ToDictionary(g => g.Key, g => g.Count());
    }

    private async Task<IReadOnlyList<Observation>> ObserveAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var observations = new List<Observation>();

        var read = await sources.QueuesAsync(cancellationToken);
        if (read is not null)
        {
            queues = read;
        }

        observations.Add(read is null ? Observation.Unknown(AlertRules.ErrorQueue) : AlertRules.ErrorQueues(read));
        observations.Add(AlertRules.UndeliveredMessages(await sources.UndeliveredAsync(now, cancellationToken), o));
        observations.Add(AlertRules.UnacknowledgedReports(await sources.UnacknowledgedReportsAsync(now, cancellationToken), o));
        var (inWindow, inBaseline) = await sources.RefusalsAsync(now, cancellationToken);
        observations.Add(AlertRules.RefusalSurge(inWindow, inBaseline, o));

        // Watchdog restarts, from each configured service's /metrics (every instance: the latest restart counts).
        var lastRestart = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var complete = true;
        foreach (var service in sources.ConfiguredServices)
        {
            if (await sources.ServiceMetricsAsync(service, WatchdogNames, cancellationToken) is not { } samples)
            {
                complete = false;
                continue;
            }

            foreach (var sample in samples.Where(s => s.Name == HubMetrics.WatchdogLastRestartPrometheus && s.Value > 0))
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds((long)(sample.Value * 1000));
                if (!lastRestart.TryGetValue(service, out var known) || at > known)
                {
                    lastRestart[service] = at;
                }
            }
        }

        observations.Add(AlertRules.WatchdogRestarts(lastRestart, now, o, complete));

        // The ledger's verification and the overdue reviews, from the consent service's /metrics.
        var consent = await sources.ServiceMetricsAsync(Catalogue.Consent.Name, ConsentNames, cancellationToken);
        var verified = consent?.Where(s => s.Name == HubMetrics.LedgerVerifiedPrometheus).Select(s => (double?)s.Value).DefaultIfEmpty(null).Min();
        observations.Add(AlertRules.Ledger(verified, consent is not null));
        var overdue = (consent ?? [])
            .Where(s => s.Name == HubMetrics.ReviewsOverduePrometheus && s.Labels.ContainsKey("unit"))
            .GroupBy(s => s.Labels["unit"], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Max(s => s.Value), StringComparer.Ordinal);
        observations.Add(AlertRules.Reviews(overdue, consent is not null));

        // Client certificates, from the gateway's /metrics.
        var gateway = await sources.GatewayMetricsAsync(GatewayNames, cancellationToken);
        var notAfter = (gateway ?? [])
            .Where(s => s.Name == HubMetrics.ClientCertificateExpiryPrometheus && s.Labels.ContainsKey("client"))
            .GroupBy(s => s.Labels["client"], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => DateTimeOffset.FromUnixTimeSeconds((long)g.Min(s => s.Value)), StringComparer.Ordinal);
        observations.Add(AlertRules.ExpiringCertificates(notAfter, now, o, gateway is not null));
        return observations;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert raised: {Rule} for {Key}.")]
    private static partial void LogRaised(ILogger logger, string rule, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert cleared: {Rule} for {Key}.")]
    private static partial void LogCleared(ILogger logger, string rule, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert evaluation failed ({Failure}); trying again at the next tick.")]
    private static partial void LogEvaluationFailed(ILogger logger, string failure);
}
