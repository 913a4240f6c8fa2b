using System.ComponentModel.DataAnnotations;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>The alert rules' thresholds and where Ops looks (docs/alerts.md, docs/configuration.md "Alerts").</summary>
public sealed class AlertOptions : IValidatableObject
{
    public const string Section = "Alerts";

    /// <summary>Off, nothing is evaluated, raised or pushed; <c>GET /ops/alerts</c> still shows what is stored.</summary>
    public bool Enabled { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan EvaluateEvery { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An error queue holding messages this long raises <see cref="AlertRules.ErrorQueue"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan ErrorQueueFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A message permitted by the gate and not delivered (nor withdrawn) this long after.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan UndeliveredAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A report of concern delivered to the intake and not acknowledged this long after.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan ReportOfConcernUnacknowledgedAfter { get; set; } = TimeSpan.FromHours(4);

    /// <summary>The window refusals are counted in; the baseline is the average of the <see cref="RefusalBaselineWindows"/> before it.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan RefusalWindow { get; set; } = TimeSpan.FromMinutes(10);

    [Range(1, 1000)]
    public int RefusalBaselineWindows { get; set; } = 12;

    /// <summary>Refusals in the window above this many times the baseline raise the alert …</summary>
    [Range(1.0, 1000.0)]
    public double RefusalFactor { get; set; } = 3.0;

    /// <summary>… and never at or below this count, so a quiet hub's first few refusals are no alarm.</summary>
    [Range(0, 1_000_000)]
    public int RefusalFloor { get; set; } = 20;

    /// <summary>A restart by a service's messaging watchdog stays alerted this long (the next restart extends it).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan WatchdogRestartWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A client certificate the gateway has seen that expires within this.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan CertificateExpiresWithin { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How far back the message rules look: what is older is history, not an alert (and bounds each query).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "90.00:00:00")]
    public TimeSpan Lookback { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a cleared alert stays in <c>GET /ops/alerts</c>' recent list.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan RecentFor { get; set; } = TimeSpan.FromDays(7);

    /// <summary>RabbitMQ's management API, as a user with only the <c>monitoring</c> tag (docs/broker-permissions.md).</summary>
    public BrokerMonitoring Broker { get; set; } = new();

    /// <summary>
    /// Each service's own base address (https://host:port), by service name, whose <c>/metrics</c> Ops reads for the
    /// watchdog, ledger and review metrics; several instances separated by commas. Trusts the internal CA (Tls:ClientCaPath).
    /// </summary>
    public Dictionary<string, string> Services { get; set; } = [];

    /// <summary>The gateway's health port (http://127.0.0.1:port), whose <c>/metrics</c> carries the client certificates' expiry.</summary>
    public string? GatewayMetricsUrl { get; set; }

    public AlertWebhookOptions Webhook { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, urls) in Services)
        {
            foreach (var url in urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
                {
                    yield return new ValidationResult($"Alerts:Services:{name} must be https:// addresses.", [nameof(Services)]);
                }
            }
        }

        if (!string.IsNullOrEmpty(GatewayMetricsUrl) && !Uri.TryCreate(GatewayMetricsUrl, UriKind.Absolute, out _))
        {
            yield return new ValidationResult("Alerts:GatewayMetricsUrl must be an absolute address.", [nameof(GatewayMetricsUrl)]);
        }

        if (!string.IsNullOrEmpty(Broker.ManagementUrl) && (!Uri.TryCreate(Broker.ManagementUrl, UriKind.Absolute, out _) || string.IsNullOrEmpty(Broker.Username)))
        {
            yield return new ValidationResult("Alerts:Broker:ManagementUrl must be an absolute address, with Alerts:Broker:Username.", [nameof(Broker)]);
        }

        if (!string.IsNullOrEmpty(Webhook.Url))
        {
            if (!Uri.TryCreate(Webhook.Url, UriKind.Absolute, out var hook) || (hook.Scheme != Uri.UriSchemeHttps && !Webhook.AllowPlainHttp))
            {
                yield return new ValidationResult("Alerts:Webhook:Url must be an https:// address.", [nameof(Webhook)]);
            }

            if (Webhook.SecretBytes() is not { Length: >= 32 })
            {
                yield return new ValidationResult("Alerts:Webhook:Secret must be base64 of at least 32 random bytes.", [nameof(Webhook)]);
            }
        }
    }
}

public sealed class BrokerMonitoring
{
    /// <summary>e.g. http://127.0.0.1:15672/; empty, the error-queue rule and the queue gauges are off.</summary>
    public string? ManagementUrl { get; set; }

    public string? VirtualHost { get; set; } = "/";

    public string? Username { get; set; }

    public string? Password { get; set; }
}

public sealed class AlertWebhookOptions
{
    /// <summary>Where each raise and clear is posted; empty, nothing is pushed.</summary>
    public string? Url { get; set; }

    /// <summary>Base64 of at least 32 random bytes: the HMAC-SHA256 key of X-Hub-Signature.</summary>
    public string? Secret { get; set; }

    /// <summary>For a receiver on the operator's own machine or in the tests; a real deployment posts over TLS.</summary>
    public bool AllowPlainHttp { get; set; }

    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 6;

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal byte[]? SecretBytes()
    {
        if (string.IsNullOrEmpty(Secret))
        {
            return null;
        }

        var buffer = new byte[Secret.Length];
        return Convert.TryFromBase64String(Secret, buffer, out var written) ? buffer[..written] : null;
    }
}
