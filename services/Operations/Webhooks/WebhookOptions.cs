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

    /// <summary>
    /// Plain http to a public address, for a developer's receiver. Off by default, and the service refuses to start with
    /// it on outside the Development environment: a push carries identity numbers and must be encrypted in transit.
    /// </summary>
    public bool AllowPlainHttp { get; set; }

    /// <summary>
    /// TEST ONLY: receivers on loopback (http or https), so a test's receiver on 127.0.0.1 can be reached. Never set by
    /// run.sh or any deployment file; a service with it on says so at Critical level when it starts. The hub's own ports
    /// (<see cref="ReservedPorts"/>, this service's, its broker's and its database's) stay refused even then.
    /// </summary>
    public bool TestOnlyAllowLoopbackReceivers { get; set; }

    /// <summary>Ports of the hub's own processes, refused on loopback even under <see cref="TestOnlyAllowLoopbackReceivers"/>.</summary>
    public int[] ReservedPorts { get; set; } = [4369, 5432, 5671, 5672, 8081, 8443, 15672, 25672, 5101, 5102, 5103, 5104, 5105, 5106];
}
