namespace FamiljecentralHub.Operations.Webhooks;

/// <summary>
/// The push schedule (configuration section "Webhooks"). The in-call retries are short on purpose: the dispatcher holds
/// the row locks while it pushes, and a pull or a revocation of those rows waits for them. Longer outages are ridden
/// out by the database backoff instead, with the item still in the inbox for the system to pull meanwhile.
/// </summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>How often an idle dispatcher looks for rows owed a push.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Rows one dispatcher claims and pushes concurrently per round.</summary>
    public int BatchSize { get; set; } = 16;

    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bounds one push with its retries, and so how long the rows stay locked.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>First in-call retry delay; exponential with jitter (about 0.5 s, then 1 s).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public double BreakerFailureRatio { get; set; } = 0.5;

    public int BreakerMinimumThroughput { get; set; } = 4;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>After a failed push the row waits base × 2^(failed pushes − 1), ±20 % jitter, capped at <see cref="BackoffMax"/>.</summary>
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMinutes(15);
}
