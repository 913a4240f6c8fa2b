namespace FamiljecentralHub.LocalHub;

/// <summary>Where a hub gets its RabbitMQ and PostgreSQL from.</summary>
public enum HubNodes
{
    /// <summary>
    /// What the test run chose (<see cref="TestNodes"/>, docs/testing.md): the shared nodes named by the HUB_* variables
    /// when HUB_EXTERNAL_NODES=1 (deploy/test.sh's private path sets them); otherwise, by HUB_TEST_NODES, containers of the
    /// hub's own images from Testcontainers (<see cref="ContainerNodes"/>, the default wherever a container engine
    /// answers) or private ones.
    /// </summary>
    FromEnvironment,

    /// <summary>
    /// Always private nodes, e.g. for tests that stop, kill or freeze the broker or the database, or form a cluster of
    /// three (docs/testing.md says why containers do not stand in for them).
    /// </summary>
    Private,
}

public sealed class HubOptions
{
    /// <summary>
    /// Logs, PKI, pseudonym key and (private) node data. Default: &lt;repo&gt;/.hub with fixed ports, or a fresh
    /// &lt;repo&gt;/.hub/instances/&lt;id&gt; with free ports, deleted again on dispose.
    /// </summary>
    public string? StateDir { get; init; }

    /// <summary>
    /// False: the well-known ports of <see cref="HubPorts.Fixed"/> (gateway 8443). True: free loopback ports, so
    /// several hubs (test fixtures) run side by side.
    /// </summary>
    public bool UseFreePorts { get; init; }

    public HubNodes Nodes { get; init; } = HubNodes.FromEnvironment;

    /// <summary>
    /// 1, or 3 for a RabbitMQ cluster of private nodes on this machine (refused on shared nodes): quorum queues get a
    /// member on every node and services fail over between them, so one node may be killed without losing or holding
    /// up a message. See <see cref="Hub.RabbitNodes"/> and <see cref="Hub.QueueLeaderAsync"/>.
    /// </summary>
    public int BrokerNodes { get; init; } = 1;

    /// <summary>
    /// ASPNETCORE_ENVIRONMENT and DOTNET_ENVIRONMENT of every process. Production by default, so tests and 'run' see
    /// what a real deployment does (no developer exception pages, options validated the production way); Development
    /// only when asked for ('run --environment Development').
    /// </summary>
    public string EnvironmentName { get; init; } = "Production";

    /// <summary>The build configuration whose binaries to run; default: the one LocalHub was built with.</summary>
    public string? Configuration { get; init; }

    /// <summary>The folder holding FamiljecentralHub.sln; default: found by walking up from this assembly.</summary>
    public string? RepositoryRoot { get; init; }

    /// <summary>Keep an auto-created state directory (logs) after dispose. Also set by HUB_KEEP_STATE=1.</summary>
    public bool KeepStateDir { get; init; }

    /// <summary>
    /// Processes per service (1 to 4): further instances share its database and broker user, compete for its queues,
    /// and sit behind the gateway with the first.
    /// </summary>
    public int Instances { get; init; } = 1;

    /// <summary>How long each service may take to report ready.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Last word on each process's environment, called with the process name (a service name or "gateway"),
    /// e.g. to lower log levels for a benchmark or to point OpenTelemetry at a collector.
    /// </summary>
    public Action<string, IDictionary<string, string>>? ConfigureEnvironment { get; init; }

    /// <summary>Progress messages (what starts, how long it took).</summary>
    public Action<string>? Log { get; init; }
}
