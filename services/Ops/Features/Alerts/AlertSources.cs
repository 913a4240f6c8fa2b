using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Serialization;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.Topology;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>
/// Where the rules look: the broker's management API (queue depths), Ops's own message_events (late messages,
/// refusals) and the services' and the gateway's <c>/metrics</c> (watchdog restarts, the ledger's verification, overdue
/// reviews, client certificates). Each read answers null when its source did not: the rule is then not evaluated,
/// never taken for clear.
/// </summary>
internal sealed partial class AlertSources(
    NpgsqlDataSource db, IHttpClientFactory clients, IOptionsMonitor<AlertOptions> options, ILogger<AlertSources> logger)
{
    public const string BrokerClient = "alerts-broker";
    public const string MetricsClient = "alerts-metrics";

    /// <summary>Message ids named in a late group's detail, so an operator can open their trails; the count says the rest.</summary>
    private const int Examples = 5;

    private AlertOptions Options => options.CurrentValue;

    /// <summary>Every queue of the hub's virtual host with its depth and consumers, or null when not configured or not answered.</summary>
    public async Task<IReadOnlyList<QueueDepth>?> QueuesAsync(CancellationToken cancellationToken)
    {
        var broker = Options.Broker;
        if (string.IsNullOrEmpty(broker.ManagementUrl))
        {
            return null;
        }

        try
        {
            var url = new Uri(new Uri(broker.ManagementUrl.TrimEnd('/') + "/"),
                $"api/queues/{Uri.EscapeDataString(broker.VirtualHost ?? "/")}?columns=name,messages,consumers");
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{broker.Username}:{broker.Password}")));
            using var response = await clients.CreateClient(BrokerClient).SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                LogSourceFailed(logger, "broker management API", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return null;
            }

            var queues = await response.Content.ReadFromJsonAsync<List<ManagementQueue>>(cancellationToken) ?? [];
            return [.. queues.Select(q => new QueueDepth(q.Name, q.Messages ?? 0, q.Consumers ?? 0))];
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            LogSourceFailed(logger, "broker management API", e.GetType().Name);
            return null;
        }
    }

    /// <summary>Permitted messages with no delivery nor withdrawal after the threshold, by receiving unit.</summary>
    public Task<IReadOnlyList<LateGroup>> UndeliveredAsync(DateTimeOffset now, CancellationToken cancellationToken) => LateAsync(
        """
        SELECT p.receiving_unit AS Unit, p.message_id AS MessageId, p.occurred_at AS At
        FROM message_events p
        WHERE p.status = 'Permitted' AND p.occurred_at >= @horizon AND p.occurred_at < @before
          AND NOT EXISTS (SELECT 1 FROM message_events d
                          WHERE d.message_id = p.message_id AND d.status IN ('Delivered', 'Withdrawn', 'Acknowledged'))
        """,
        now - Options.UndeliveredAfter, now, cancellationToken);

    /// <summary>Reports of concern delivered and not acknowledged after the threshold, by receiving (intake) unit.</summary>
    public Task<IReadOnlyList<LateGroup>> UnacknowledgedReportsAsync(DateTimeOffset now, CancellationToken cancellationToken) => LateAsync(
        """
        SELECT d.receiving_unit AS Unit, d.message_id AS MessageId, d.occurred_at AS At
        FROM message_events d
        WHERE d.status = 'Delivered' AND d.purpose = 'ReportOfConcern' AND d.occurred_at >= @horizon AND d.occurred_at < @before
          AND NOT EXISTS (SELECT 1 FROM message_events a
                          WHERE a.message_id = d.message_id AND a.status IN ('Acknowledged', 'Withdrawn'))
        """,
        now - Options.ReportOfConcernUnacknowledgedAfter, now, cancellationToken);

    /// <summary>Refusals in the last window, and in the baseline windows before it.</summary>
    public async Task<(long InWindow, long InBaseline)> RefusalsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var window = Options.RefusalWindow;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(
            """
            SELECT count(*) FILTER (WHERE occurred_at >= @windowStart), count(*) FILTER (WHERE occurred_at < @windowStart)
            FROM message_events WHERE status = 'Refused' AND occurred_at >= @baselineStart AND occurred_at < @now
            """,
            new { now, windowStart = now - window, baselineStart = now - window * (Options.RefusalBaselineWindows + 1) },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The samples of <paramref name="names"/> from every configured instance of <paramref name="service"/>, each with
    /// the instance's index as label "instance"; null when an instance did not answer.
    /// </summary>
    public async Task<IReadOnlyList<Sample>?> ServiceMetricsAsync(string service, IReadOnlySet<string> names, CancellationToken cancellationToken)
    {
        if (!Options.Services.TryGetValue(service, out var urls))
        {
            return null;
        }

        var samples = new List<Sample>();
        var instances = urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var url in instances)
        {
            if (await ScrapeAsync(url, names, cancellationToken) is not { } read)
            {
                return null;
            }

            samples.AddRange(read);
        }

        return instances.Length == 0 ? null : samples;
    }

    public Task<IReadOnlyList<Sample>?> GatewayMetricsAsync(IReadOnlySet<string> names, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(Options.GatewayMetricsUrl) ? Task.FromResult<IReadOnlyList<Sample>?>(null) : ScrapeAsync(Options.GatewayMetricsUrl, names, cancellationToken);

    /// <summary>
    /// Each configured instance of each service and whether it says it is ready (<c>/health/ready</c>), for the console's
    /// overview: null where it did not answer in time.
    /// </summary>
    public async Task<IReadOnlyList<(string Service, string Instance, bool? Ready)>> ReadinessAsync(CancellationToken cancellationToken)
    {
        var probes = ConfiguredServices
            .SelectMany(service => Options.Services[service].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select((url, index) => (service, index, url)))
            .Select(async probe =>
            {
                using var brief = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                brief.CancelAfter(TimeSpan.FromSeconds(3));
                try
                {
                    using var response = await clients.CreateClient(MetricsClient).GetAsync(new Uri(new Uri(probe.url.TrimEnd('/') + "/"), "health/ready"), brief.Token);
                    return (probe.service, probe.index.ToString(CultureInfo.InvariantCulture), (bool?)response.IsSuccessStatusCode);
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                    return (probe.service, probe.index.ToString(CultureInfo.InvariantCulture), (bool?)null);
                }
            });
        return await Task.WhenAll(probes);
    }

    /// <summary>The services the evaluator reads watchdog restarts from: every configured one.</summary>
    public IEnumerable<string> ConfiguredServices => Options.Services.Keys.Where(name => Catalogue.Find(name) is not null).Order(StringComparer.Ordinal);

    private async Task<IReadOnlyList<Sample>?> ScrapeAsync(string baseUrl, IReadOnlySet<string> names, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await clients.CreateClient(MetricsClient).GetAsync(new Uri(new Uri(baseUrl.TrimEnd('/') + "/"), "metrics"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                LogSourceFailed(logger, "a /metrics endpoint", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return null;
            }

            return PrometheusText.Parse(await response.Content.ReadAsStringAsync(cancellationToken), names.Contains);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogSourceFailed(logger, "a /metrics endpoint", e.GetType().Name);
            return null;
        }
    }

    private async Task<IReadOnlyList<LateGroup>> LateAsync(string sql, DateTimeOffset before, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Unit, Guid MessageId, DateTimeOffset At)>(new CommandDefinition(
            sql, new { before, horizon = now - Options.Lookback }, cancellationToken: cancellationToken));
        return [.. rows
            .GroupBy(r => r.Unit, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var oldest = g.OrderBy(r => r.At).ToList();
                return new LateGroup(g.Key, oldest.Count, oldest[0].At, [.. oldest.Take(Examples).Select(r => r.MessageId)]);
            })];
    }

    // The source and the failure's type or status only: a management API's answer may name users and hosts.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Alerts: {Source} did not answer ({Failure}); its rules wait for the next evaluation.")]
    private static partial void LogSourceFailed(ILogger logger, string source, string failure);

    private sealed class ManagementQueue
    {
        [JsonPropertyName("name")]
        public string Name { get; init; } = "";

        [JsonPropertyName("messages")]
        public long? Messages { get; init; }

        [JsonPropertyName("consumers")]
        public long? Consumers { get; init; }
    }
}
