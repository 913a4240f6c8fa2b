using System.Globalization;
using System.Text;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// A RabbitMQ node from Debian's package: either a private one this object starts and stops (state in its own
/// directory, its own ports and node name, so several run side by side), or an external one someone else runs,
/// on which we only create and delete virtual hosts, users and permissions. Private nodes may form a cluster
/// (<see cref="RabbitMqCluster"/>). This file is the node's life (create, start, stop, its files and environment); its
/// management API is in RabbitMqNode.Management.cs, the faults tests inject in RabbitMqNode.Faults.cs.
/// </summary>
public sealed partial class RabbitMqNode
{
    private static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(120);
    private bool holdsEpmd;

    private RabbitMqNode(
        string nodeName, int amqpPort, int managementPort, int distributionPort,
        string? directory, string adminUser, string adminPassword, string? clusterSeed = null)
    {
        NodeName = nodeName;
        ClusterSeed = clusterSeed;
        AmqpPort = amqpPort;
        ManagementPort = managementPort;
        DistributionPort = distributionPort;
        Directory = directory;
        AdminUser = adminUser;
        AdminPassword = adminPassword;
    }

    public string NodeName { get; }

    public string Host => "127.0.0.1";

    public int AmqpPort { get; }

    public int ManagementPort { get; }

    /// <summary>Erlang distribution port; 0 for an external node (we don't know or need it).</summary>
    public int DistributionPort { get; }

    /// <summary>The node's state directory; null for an external node.</summary>
    public string? Directory { get; }

    /// <summary>True when this object starts and stops the node; fault injection is allowed only then.</summary>
    public bool IsOwned => Directory is not null;

    /// <summary>An administrator for the management API (and AMQP), created at the node's first boot.</summary>
    public string AdminUser { get; }

    public string AdminPassword { get; }

    public Uri ManagementUrl => new($"http://{Host}:{ManagementPort}/");

    /// <summary>
    /// The rabbitmq_prometheus plugin's port on a private node (its <c>/metrics</c>), enabled beside the management
    /// plugin; 0 leaves it off (and an external node as its operator set it).
    /// </summary>
    public int PrometheusPort { get; internal set; }

    /// <summary>
    /// For a node of a private cluster, the first node's name: a blank node joins that node's cluster at its first
    /// boot. Null for a node on its own.
    /// </summary>
    internal string? ClusterSeed { get; }

    /// <summary>True when starting this node started epmd, so its final stop also stops epmd (if no other node uses it).</summary>
    public bool StartedEpmd { get; internal set; }

    /// <summary>The node's own log; null for an external node.</summary>
    public string? LogPath => Directory is null ? null : Path.Combine(Directory, "log", $"{NodeName}.log");

    private string PidFile => Path.Combine(RequireOwned(), "rabbitmq.pid");

    /// <summary>The Erlang VM's process id while the node runs.</summary>
    public int? BeamPid
    {
        get
        {
            if (!IsOwned)
            {
                return null;
            }
            try
            {
                var text = File.ReadAllText(PidFile).Trim();
                return int.TryParse(text, CultureInfo.InvariantCulture, out var pid) && UnixProcess.IsAlive(pid) ? pid : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary>True while the VM runs and is not frozen, so its management API can answer.</summary>
    internal bool IsAnswering => BeamPid is { } pid && UnixProcess.State(pid) != 'T';

    /// <summary>
    /// A private node with its state under <paramref name="directory"/>, which must be reachable by the rabbitmq
    /// user (not under /root). The node name is derived from the AMQP port, so it is unique per running node
    /// and stable across restarts (the data directory is keyed by node name).
    /// </summary>
    public static RabbitMqNode Private(string directory, int amqpPort, int managementPort, int distributionPort) =>
        Create(directory, amqpPort, managementPort, distributionPort, clusterSeed: null);

    /// <summary>
    /// A private node of a cluster whose first node is <paramref name="seed"/> (null for the first node itself).
    /// A blank node joins the seed's cluster at its first boot; its data is then the cluster's, users included, so
    /// it shares the seed's administrator password.
    /// </summary>
    internal static RabbitMqNode ClusterNode(string directory, int amqpPort, int managementPort, int distributionPort, RabbitMqNode? seed)
    {
        if (seed is not null)
        {
            UnixFiles.WriteSecret(Path.Combine(directory, "admin-password"), seed.AdminPassword);
        }
        return Create(directory, amqpPort, managementPort, distributionPort, seed?.NodeName ?? NodeNameFor(amqpPort));
    }

    private static RabbitMqNode Create(string directory, int amqpPort, int managementPort, int distributionPort, string? clusterSeed)
    {
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        var password = UnixFiles.ReadOrCreateSecret(Path.Combine(directory, "admin-password"), UnixFiles.NewPassword);
        return new RabbitMqNode(
            NodeNameFor(amqpPort), amqpPort, managementPort, distributionPort, directory, "hub-admin", password, clusterSeed);
    }

    private static string NodeNameFor(int amqpPort) => $"hub-{amqpPort}@localhost";

    /// <summary>A node someone else runs; we only manage virtual hosts, users and permissions on it.</summary>
    public static RabbitMqNode External(string nodeName, int amqpPort, int managementPort, string adminUser, string adminPassword) =>
        new(nodeName, amqpPort, managementPort, 0, null, adminUser, adminPassword);

    /// <summary>Starts the node (a no-op when it runs) and waits until it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var directory = RequireOwned();
        if (BeamPid is not null)
        {
            return;
        }
        await PrepareDirectoryAsync(directory, cancellationToken);
        if (!holdsEpmd)
        {
            StartedEpmd |= await Epmd.AcquireAsync(cancellationToken);
            holdsEpmd = true;
        }

        var startupLog = Path.Combine(directory, "log", "startup.log");
        await UnixFiles.PrepareLogAsync(startupLog, "rabbitmq", cancellationToken);
        var exitCode = await ProcessRunner.RunDaemonStarterAsync(
            "rabbitmq-server", ["-detached"], startupLog, Environment(), ServerTimeout, cancellationToken);
        if (exitCode != 0)
        {
            throw Failure($"rabbitmq-server exited with {exitCode}", startupLog);
        }
        try
        {
            // 'wait' first: await_startup fails at once (rc 69) while the node is not yet reachable.
            await CtlAsync(["wait", PidFile, "--timeout", "120"], cancellationToken);
            await CtlAsync(["await_startup", "--timeout", "120"], cancellationToken);
        }
        catch (LocalHubException e)
        {
            throw Failure(e.Message, startupLog);
        }
    }

    /// <summary>
    /// True once the node has booted at least once: its data (and, in a cluster, its membership) is kept in
    /// a directory named after it.
    /// </summary>
    internal bool HasData => System.IO.Directory.Exists(Path.Combine(RequireOwned(), "mnesia", NodeName));

    /// <summary>Stops the node gracefully and makes sure its VM is gone; also stops epmd if we started it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await StopNodeAsync(cancellationToken);
        await ReleaseEpmdAsync(cancellationToken);
    }

    /// <summary>
    /// Kills the node and stops epmd if we started it: the quick way to end a node whose data is deleted next.
    /// </summary>
    internal async Task DiscardAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync(cancellationToken);
        await ReleaseEpmdAsync(cancellationToken);
    }

    /// <summary>Graceful stop and start, keeping all data (durable queues and persistent messages survive).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopNodeAsync(cancellationToken);
        await StartAsync(cancellationToken);
    }

    private const string LoopbackDistribution = "-kernel inet_dist_use_interface {127,0,0,1}";

    /// <summary>The variables that point rabbitmq-server and rabbitmqctl at this node's own files and ports.</summary>
    internal IReadOnlyDictionary<string, string> Environment()
    {
        var directory = RequireOwned();
        return new Dictionary<string, string>
        {
            ["RABBITMQ_NODENAME"] = NodeName,
            ["RABBITMQ_NODE_IP_ADDRESS"] = Host,
            ["RABBITMQ_NODE_PORT"] = AmqpPort.ToString(CultureInfo.InvariantCulture),
            // Explicit, because the default (AMQP port + 20000) can collide with another node's ports here.
            ["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(directory, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(directory, "log"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(directory, "enabled_plugins"),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(directory, "rabbitmq"),
            // Our own (empty or absent) files instead of /etc/rabbitmq's, so a system-wide setting cannot leak in.
            ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(directory, "advanced.config"),
            ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(directory, "rabbitmq-env.conf"),
            ["RABBITMQ_PID_FILE"] = PidFile,
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            // Erlang's distribution listener binds every interface by default, and whoever reaches it with the cookie
            // runs code inside the broker: loopback only, for the server and for the CLI's own short-lived nodes.
            // HUB_RABBITMQ_ERL_ARGS: the benchmark's experiments with the VM's flags (scheduler busy-waiting, say).
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = $"{LoopbackDistribution} {System.Environment.GetEnvironmentVariable("HUB_RABBITMQ_ERL_ARGS")}".TrimEnd(),
            ["RABBITMQ_CTL_ERL_ARGS"] = LoopbackDistribution,
        };
    }

    internal async Task StopNodeAsync(CancellationToken cancellationToken)
    {
        RequireOwned();
        if (BeamPid is not { } pid)
        {
            return;
        }
        // A frozen VM cannot answer rabbitmqctl.
        UnixProcess.Signal(pid, UnixProcess.SigCont);
        // Graceful stop takes 6-8 s: the management plugin waits out a 5 s timeout while shutting down.
        var result = await ProcessRunner.RunAsync(
            "rabbitmqctl", ["-n", NodeName, "stop", PidFile], Environment(), ServerTimeout, cancellationToken);
        if (!await UnixProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(result.ExitCode == 0 ? 30 : 1), cancellationToken))
        {
            var children = UnixProcess.Children(pid);
            UnixProcess.Signal(pid, UnixProcess.SigKill);
            foreach (var child in children)
            {
                UnixProcess.Signal(child, UnixProcess.SigKill);
            }
            if (!await UnixProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(10), cancellationToken))
            {
                throw new LocalHubException($"RabbitMQ node {NodeName} (pid {pid}) did not stop.");
            }
        }
        File.Delete(PidFile);
    }

    internal async Task ReleaseEpmdAsync(CancellationToken cancellationToken)
    {
        if (holdsEpmd)
        {
            holdsEpmd = false;
            await Epmd.ReleaseAsync(cancellationToken);
        }
        else if (StartedEpmd)
        {
            // A node recorded in a state file by another process, which started epmd for it.
            await Epmd.StopIfIdleAsync(cancellationToken);
        }
        StartedEpmd = false;
    }

    private async Task PrepareDirectoryAsync(string directory, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "mnesia"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "log"));
        var config = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"listeners.tcp.default = {Host}:{AmqpPort}")
            .AppendLine(CultureInfo.InvariantCulture, $"management.tcp.ip = {Host}")
            .AppendLine(CultureInfo.InvariantCulture, $"management.tcp.port = {ManagementPort}")
            // The default user exists only at the first boot of an empty node; 'guest' is never created.
            .AppendLine(CultureInfo.InvariantCulture, $"default_user = {AdminUser}")
            .AppendLine(CultureInfo.InvariantCulture, $"default_pass = {AdminPassword}")
            .AppendLine("default_user_tags.administrator = true")
            // Queue counts in the management API at most a second old, not five: the fault suite's "still queued"
            // is read the moment the last referral has its outcome.
            .AppendLine("collect_statistics_interval = 1000");
        if (PrometheusPort > 0)
        {
            // Loopback only, as every port of a local hub; Prometheus scrapes it (deploy/monitoring/prometheus.yml).
            config.AppendLine(CultureInfo.InvariantCulture, $"prometheus.tcp.ip = {Host}")
                .AppendLine(CultureInfo.InvariantCulture, $"prometheus.tcp.port = {PrometheusPort}");
        }
        if (ClusterSeed is not null)
        {
            // A node frozen (FreezeAsync) for longer than net_ticktime (60 s) comes back to a cluster that has
            // declared it down, and stays partitioned under the default 'ignore'. autoheal restarts the losing side
            // into the cluster within seconds; pause_minority did not (both tried with 3.10.8 here).
            config.AppendLine("cluster_partition_handling = autoheal");
        }
        if (ClusterSeed is not null && ClusterSeed != NodeName)
        {
            // Only a blank node consults peer discovery: it joins the seed's cluster at its first boot, a node with
            // data keeps the cluster it belongs to. The seed alone is listed so that every node joins the same one.
            config.AppendLine("cluster_formation.peer_discovery_backend = classic_config")
                .AppendLine(CultureInfo.InvariantCulture, $"cluster_formation.classic_config.nodes.1 = {ClusterSeed}");
        }
        await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq.conf"), config.ToString(), cancellationToken);
        // What 'rabbitmq-plugins --offline enable rabbitmq_management rabbitmq_prometheus' writes, without starting an Erlang VM
        // for it (about 1.5 s); the plugin's dependencies are resolved at boot.
        await File.WriteAllTextAsync(
            Path.Combine(directory, "enabled_plugins"), PrometheusPort > 0 ? "[rabbitmq_management,rabbitmq_prometheus].\n" : "[rabbitmq_management].\n", cancellationToken);
        // Sourced by the server's start script as the rabbitmq user: every file the node creates, its logs included, is
        // readable by rabbitmq alone.
        await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq-env.conf"), "umask 077\n", cancellationToken);
        File.Delete(PidFile);
        await UnixFiles.ChownAsync(directory, "rabbitmq", cancellationToken);
        UnixFiles.SetMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        UnixFiles.RestrictLogDirectory(Path.Combine(directory, "log"));
    }

    private async Task CtlAsync(string[] arguments, CancellationToken cancellationToken) =>
        await ProcessRunner.RunCheckedAsync("rabbitmqctl", ["-n", NodeName, .. arguments], Environment(), ServerTimeout, cancellationToken);

    private LocalHubException Failure(string what, string startupLog) =>
        new($"RabbitMQ node {NodeName} did not start: {what}{System.Environment.NewLine}"
            + $"--- {startupLog}{System.Environment.NewLine}{ProcessRunner.Tail(startupLog, 20)}{System.Environment.NewLine}"
            + $"--- {LogPath}{System.Environment.NewLine}{ProcessRunner.Tail(LogPath!, 30)}");

    private string RequireOwned() =>
        Directory ?? throw new InvalidOperationException(
            $"RabbitMQ node {NodeName} is external and shared; only a private node may be started, stopped or faulted (HubNodes.Private).");
}
