using System.Diagnostics;
using System.Security.Cryptography;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// A whole local hub: RabbitMQ and PostgreSQL (private or shared), the demo PKI, the six services and the
/// gateway, each started and checked ready. Disposing stops everything it started and nothing else. This file starts
/// and stops them; what each process is told is in <see cref="ServiceEnvironment"/>, the broker's set-up in
/// <see cref="BrokerProvisioning"/>, the databases in <see cref="HubDatabases"/>, and the state file that lets a later
/// run clean up after a crashed one in Hub.State.cs.
/// </summary>
public sealed partial class Hub : IAsyncDisposable
{
    private readonly HubOptions options;
    private readonly RepositoryLayout layout;
    private readonly bool sharedNodes;
    private readonly bool ownsStateDir;
    private readonly string nodesDir;
    private readonly RabbitMqCluster broker;
    private readonly Dictionary<string, ServiceProcess> services = [];
    private readonly Dictionary<string, List<ServiceProcess>> instances = [];
    private readonly HubDatabases databases;
    private readonly ServiceEnvironment environments;
    private readonly ContainerNodes? containers;
    private Dictionary<string, BrokerAccount> brokerAccounts = [];
    private ServiceProcess? gateway;
    private bool rabbitStarted;
    private bool postgresStarted;
    private bool brokerConfigured;
    private bool databasesCreated;
    private int disposed;

    private Hub(
        HubOptions options, RepositoryLayout layout, ExternalNodes? external, ContainerNodes? containers, string instanceId, string stateDir, bool ownsStateDir, HubPorts ports)
    {
        this.options = options;
        this.containers = containers;
        this.layout = layout;
        this.ownsStateDir = ownsStateDir;
        sharedNodes = external is not null;
        InstanceId = instanceId;
        StateDir = stateDir;
        Ports = ports;

        nodesDir = UnixFiles.NodesDirectoryFor(stateDir);

        // A cluster's nodes keep their data apart from the single node's (rabbitmq-1..3, not rabbitmq): a former
        // cluster member would wait at boot for peers that are not started, and a single node's data is no cluster's.
        broker = external is null
            ? RabbitMqCluster.Private(
                ports.RabbitMqNodes.Count == 1
                    ? [Path.Combine(nodesDir, "rabbitmq")]
                    : Enumerable.Range(1, ports.RabbitMqNodes.Count).Select(number => Path.Combine(nodesDir, $"rabbitmq-{number}")).ToList(),
                ports.RabbitMqNodes)
            : new RabbitMqCluster([RabbitMqNode.External(
                external.RabbitMqNodeName, external.RabbitMqPort, external.RabbitMqManagementPort, external.RabbitMqAdminUser, external.RabbitMqAdminPassword)]);
        if (external is null)
        {
            foreach (var (node, port) in broker.Nodes.Zip(ports.RabbitMqPrometheus))
            {
                node.PrometheusPort = port;
            }
        }
        Postgres = external is null
            ? PostgresNode.Private(Path.Combine(nodesDir, "postgres"), ports.Postgres)
            : PostgresNode.External(external.PostgresPort, external.PostgresPassword);

        // On a shared node every name carries the instance id, so fixtures never see each other's queues or rows. A hub's
        // own containers are provisioned the same way: one way to set up an external node, tested on both paths.
        VirtualHost = sharedNodes ? $"hub-{instanceId}" : "/";
        databases = new HubDatabases(Postgres, instanceId, sharedNodes);
        environments = new ServiceEnvironment(this, options, layout, broker);
    }

    /// <summary>Eight hex digits, unique per hub; part of every broker and database name on shared nodes.</summary>
    public string InstanceId { get; }

    public string RepositoryRoot => layout.Root;

    public string StateDir { get; }

    public string PkiDir => Path.Combine(StateDir, "pki");

    public string LogDir => Path.Combine(StateDir, "logs");

    /// <summary>
    /// Where each service's messaging watchdog keeps its restart count across the restarts it makes (Watchdog:StatePath),
    /// a directory per service owned by its user.
    /// </summary>
    public string WatchdogStateDir(string service) => Path.Combine(StateDir, "watchdog", RequireService(service).Name);

    /// <summary>Where the consent service appends the ledger's signed checkpoints (outside the database, for an operator to copy off).</summary>
    public string LedgerCheckpointDir => Path.Combine(StateDir, "ledger-checkpoints");

    public HubPorts Ports { get; }

    /// <summary>The only way in for clients: mutual TLS with a certificate from <see cref="PkiDir"/>.</summary>
    public Uri GatewayUrl => new($"https://127.0.0.1:{Ports.Gateway}");

    public Uri GatewayHealthUrl => new($"http://127.0.0.1:{Ports.GatewayHealth}");

    public string VirtualHost { get; }

    /// <summary>The (first) RabbitMQ node: the one administration goes through and services connect to first.</summary>
    public RabbitMqNode Rabbit => broker.Nodes[0];

    /// <summary>
    /// Every RabbitMQ node, <see cref="Rabbit"/> first: one, or the nodes of a cluster (<see cref="HubOptions.BrokerNodes"/>).
    /// Each can be killed, frozen or restarted on its own; a restarted node rejoins the cluster with its data.
    /// </summary>
    public IReadOnlyList<RabbitMqNode> RabbitNodes => broker.Nodes;

    public PostgresNode Postgres { get; }

    /// <summary>The server log of this hub's PostgreSQL when it runs in a container of the hub's own; null otherwise (then it is a file beside the data directory).</summary>
    public Task<string?> ContainerPostgresLogAsync(CancellationToken cancellationToken) =>
        containers is null ? Task.FromResult<string?>(null) : containers.PostgresLogAsync(cancellationToken);

    /// <summary>
    /// The six services by name (maternity-care, child-health, open-preschool, social-services, consent, ops); with
    /// several instances, the first of each.
    /// </summary>
    public IReadOnlyDictionary<string, ServiceProcess> Services => services;

    /// <summary>Every running instance of a service (<see cref="HubOptions.Instances"/>), the first one first.</summary>
    public IReadOnlyList<ServiceProcess> Instances(string service) => instances[RequireService(service).Name];

    private IEnumerable<ServiceProcess> AllInstances => instances.Values.SelectMany(list => list);

    public ServiceProcess Gateway => gateway ?? throw new InvalidOperationException("The gateway has not been started.");

    /// <summary>Base64 of the 32-byte key services derive pseudonyms with; kept in the state directory across runs.</summary>
    public string PseudonymKey { get; private set; } = "";

    public static IReadOnlyList<string> ServiceNames => Catalogue.Names;

    public IReadOnlyList<string> ClientIds { get; private set; } = [];

    public string CaCertificatePath => Path.Combine(PkiDir, "ca.pem");

    /// <summary>The demo CA's revocation list, which the gateway checks (<see cref="DemoPki.Revoke"/> adds to it).</summary>
    public string CrlPath => Path.Combine(PkiDir, "ca.crl.pem");

    public string ClientCertificatePath(string clientId) => Path.Combine(PkiDir, "clients", clientId + ".pem");

    public string ClientKeyPath(string clientId) => Path.Combine(PkiDir, "clients", clientId + ".key");

    /// <summary>PKCS#12 without a password, for HttpClient.</summary>
    public string ClientPfxPath(string clientId) => Path.Combine(PkiDir, "clients", clientId + ".pfx");

    /// <summary>
    /// A service's own address (behind the gateway; for tests that bypass it on purpose): HTTPS only, with a server
    /// certificate from the internal CA (<see cref="InternalCaCertificatePath"/>); its API wants the gateway's hop
    /// certificate too.
    /// </summary>
    public Uri ServiceUrl(string service, int instance = 1) =>
        new($"https://127.0.0.1:{Ports.InstancesOf(RequireService(service).Name)[instance - 1]}");

    /// <summary>The internal CA, which issued every service's server certificate and the gateway's hop certificate.</summary>
    public string InternalCaCertificatePath => Path.Combine(PkiDir, "internal", "ca.pem");

    public string DatabaseName(string service) => databases.Name(RequireService(service));

    /// <summary>
    /// The connection string the service gets: its run-time role on its own database, which may read and write rows as
    /// the service's migrations grant and nothing more (docs/security.md, "Database roles").
    /// </summary>
    public string ConnectionString(string service) => databases.ConnectionString(RequireService(service));

    /// <summary>The migration role's, which owns the service's schema: what its <c>migrate</c> command ran with.</summary>
    public string MigrationConnectionString(string service) => databases.MigrationConnectionString(RequireService(service));

    /// <summary>
    /// The superuser's on the service's database, for tests that act as the DBA would (a constraint that makes a table
    /// refuse a subject's rows); never given to a service.
    /// </summary>
    public string AdminConnectionString(string service) => databases.AdminConnectionString(RequireService(service));

    /// <summary>
    /// The node whose member of the quorum queue <paramref name="queue"/> (in this hub's virtual host) leads it now,
    /// e.g. <c>await (await hub.QueueLeaderAsync("consent-gate")).KillAsync()</c>. Right after the leader's node died
    /// it waits out the election (up to 30 s).
    /// </summary>
    public async Task<RabbitMqNode> QueueLeaderAsync(string queue, CancellationToken cancellationToken = default) =>
        RabbitNode(await broker.QueueLeaderAsync(VirtualHost, queue, cancellationToken));

    /// <summary>This hub's RabbitMQ node called <paramref name="nodeName"/> (e.g. "hub-5673@localhost").</summary>
    public RabbitMqNode RabbitNode(string nodeName) => broker.Node(nodeName);

    public BrokerAccount BrokerAccount(string service) =>
        brokerAccounts.TryGetValue(RequireService(service).Name, out var account)
            ? account
            : throw new InvalidOperationException("The broker has not been configured yet.");

    /// <summary>
    /// Ops's second broker login, for the management API alone: the <c>monitoring</c> tag and no resource on the virtual
    /// host (<see cref="BrokerPermissions.Monitoring"/>), so it reads queue depths and can neither consume nor publish.
    /// </summary>
    public BrokerAccount MonitoringAccount =>
        brokerAccounts.TryGetValue(BrokerPermissions.MonitoringUser, out var account)
            ? account
            : throw new InvalidOperationException("The broker has not been configured yet.");

    /// <summary>Starts a hub and returns when every service and the gateway report ready.</summary>
    public static async Task<Hub> StartAsync(HubOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HubOptions();
        var layout = RepositoryLayout.Locate(options.RepositoryRoot, options.Configuration);
        layout.RequireBuilt();
        if (options.BrokerNodes is not (1 or 3))
        {
            // Two nodes tolerate no failure (a quorum of two is both); more than three is more than a 2-core machine carries.
            throw new ArgumentOutOfRangeException(nameof(options), options.BrokerNodes, "BrokerNodes is 1 or 3.");
        }
        var source = options.Nodes == HubNodes.Private ? TestNodeSource.Private : TestNodes.FromEnvironment();
        if (source == TestNodeSource.Private && PrivateNodes.Unavailable is { } unavailable)
        {
            throw new LocalHubException(unavailable);
        }
        var external = source == TestNodeSource.Shared ? ExternalNodes.FromEnvironment() : null;
        if (options.BrokerNodes > 1 && source != TestNodeSource.Private)
        {
            throw new LocalHubException(
                $"BrokerNodes = {options.BrokerNodes} needs private nodes, but this run's hubs take {source.ToString().ToLowerInvariant()} nodes: use Nodes = HubNodes.Private.");
        }
        var instanceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

        var ownsStateDir = options.StateDir is null && options.UseFreePorts;
        var stateDir = Path.GetFullPath(
            options.StateDir ?? (ownsStateDir ? Path.Combine(layout.DefaultStateDir, "instances", instanceId) : layout.DefaultStateDir));
        if (ownsStateDir)
        {
            await SweepAbandonedInstancesAsync(Path.GetDirectoryName(stateDir)!, options.Log, cancellationToken);
        }
        // Leftovers of a hub in this directory whose process died without stopping them.
        await HubStateCleanup.StopAsync(stateDir, signalLiveOwner: false, options.Log, cancellationToken);

        if (options.Instances is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Instances, "Instances must be 1 to 4.");
        }
        var ports = (options.UseFreePorts ? HubPorts.Free(options.BrokerNodes) : HubPorts.FixedFor(options.BrokerNodes))
            .WithInstances(options.Instances, options.UseFreePorts);
        var busy = ports.Listening(privateNodes: source == TestNodeSource.Private).Where(entry => !FreePorts.IsFree(entry.Port)).ToList();
        if (busy.Count > 0)
        {
            throw new LocalHubException(
                "Ports in use: " + string.Join(", ", busy.Select(entry => $"{entry.Port} ({entry.What})"))
                + ". Is another hub or a system RabbitMQ/PostgreSQL running? (deploy/stop.sh stops a hub started by run.sh)");
        }

        // Last before the hub exists, which removes them again however its start ends.
        var containers = source == TestNodeSource.Containers
            ? await ContainerNodes.StartAsync(instanceId, withBroker: true, options.Log, cancellationToken)
            : null;
        external ??= containers?.Nodes;
        if (external is not null)
        {
            ports = ports with
            {
                RabbitMq = external.RabbitMqPort,
                RabbitMqManagement = external.RabbitMqManagementPort,
                RabbitMqDistribution = 0,
                Postgres = external.PostgresPort,
                RabbitMqPrometheus = [],
            };
        }

        var hub = new Hub(options, layout, external, containers, instanceId, stateDir, ownsStateDir, ports);
        try
        {
            await hub.StartCoreAsync(cancellationToken);
            return hub;
        }
        catch (Exception startFailure)
        {
            try
            {
                await hub.DisposeAsync();
            }
            catch (Exception stopFailure)
            {
                throw new AggregateException(startFailure, stopFailure);
            }
            throw;
        }
    }

    /// <summary>Stops the gateway and services, removes this hub's broker and database objects from shared nodes,
    /// stops private nodes, and deletes an auto-created state directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        var failures = new List<Exception>();
        async Task Attempt(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        var stopwatch = Stopwatch.StartNew();
        var discard = ownsStateDir && !options.KeepStateDir && Environment.GetEnvironmentVariable("HUB_KEEP_STATE") != "1";
        if (gateway is not null)
        {
            await Attempt(() => gateway.StopAsync());
        }
        await Task.WhenAll(AllInstances.Select(service => Attempt(() => service.StopAsync())));
        Log($"Gateway and services stopped in {stopwatch.Elapsed.TotalSeconds:0.0} s.");

        if (containers is not null)
        {
            // The hub's own containers go with everything in them: nothing to drop one by one first.
            await Attempt(() => containers.DisposeAsync().AsTask());
        }
        else if (sharedNodes)
        {
            if (brokerConfigured)
            {
                await Attempt(() => Rabbit.DeleteVirtualHostAsync(VirtualHost));
                await Task.WhenAll(brokerAccounts.Values.Select(account => Attempt(() => Rabbit.DeleteUserAsync(account.User))));
            }
            if (databasesCreated)
            {
                await databases.DropAllAsync(Attempt);
            }
        }
        else
        {
            // Nodes whose data is deleted next are killed: a graceful stop (5-8 s for RabbitMQ) would protect nothing.
            await Task.WhenAll(
                rabbitStarted ? Attempt(() => discard ? broker.DiscardAsync() : broker.StopAsync()) : Task.CompletedTask,
                postgresStarted ? Attempt(() => discard ? Postgres.KillAsync() : Postgres.StopAsync()) : Task.CompletedTask);
        }

        if (failures.Count == 0)
        {
            HubState.Delete(StateDir);
            if (discard)
            {
                await Attempt(() =>
                {
                    UnixFiles.DeleteDirectory(StateDir);
                    UnixFiles.DeleteDirectory(nodesDir);
                    return Task.CompletedTask;
                });
            }
        }
        Log($"Stopped in {stopwatch.Elapsed.TotalSeconds:0.0} s.");
        if (failures.Count > 0)
        {
            throw new LocalHubException(
                $"Stopping the hub in {StateDir} failed; {HubState.FileName} there lists what may still run.",
                new AggregateException(failures));
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        Directory.CreateDirectory(StateDir);
        Directory.CreateDirectory(LogDir);
        UnixFiles.SetMode(StateDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        SaveState();

        ClientIds = layout.ReadClientIds();
        RequireReachableByServiceUsers();
        if (ServiceAccounts.Enabled)
        {
            await Task.WhenAll(ProcessUsers.Select(user => ServiceAccounts.EnsureAsync(user, cancellationToken)));
        }

        PseudonymKey = UnixFiles.ReadOrCreateSecret(
            Path.Combine(StateDir, "pseudonym.key"), () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

        Log(containers is not null ? $"Using its containers: RabbitMQ on {Rabbit.AmqpPort}, PostgreSQL on {Postgres.Port}."
            : sharedNodes ? $"Using shared nodes: RabbitMQ {Rabbit.NodeName}, PostgreSQL on {Postgres.Port}."
            : RabbitNodes.Count == 1 ? "Starting RabbitMQ and PostgreSQL ..." : $"Starting a cluster of {RabbitNodes.Count} RabbitMQ nodes and PostgreSQL ...");
        // Independent and each a few seconds: RabbitMQ takes about 8 s to boot, so the rest happens meanwhile.
        await Task.WhenAll(StartBrokerAsync(cancellationToken), StartDatabaseAsync(cancellationToken), CreatePkiAsync(cancellationToken));

        Log("Starting services ...");
        foreach (var service in HubService.All)
        {
            // Further instances share the service's database and broker user and compete for its queues.
            instances[service.Name] = [.. Enumerable.Range(1, options.Instances).Select(instance =>
            {
                var suffix = instance == 1 ? "" : $"-{instance}";
                var process = new ServiceProcess(
                    service.Name + suffix,
                    layout.ServiceDll(service),
                    ServiceUrl(service.Name, instance),
                    environments.ForService(service, instance),
                    Path.Combine(LogDir, service.Name + suffix + ".log"))
                {
                    ReadyTimeout = options.ReadyTimeout,
                    User = UserOf(service.Name),
                    TrustedCaPath = InternalCaCertificatePath,
                };
                process.Started += _ => SaveState();
                return process;
            })];
            services[service.Name] = instances[service.Name][0];
        }
        await Task.WhenAll(AllInstances.Select(service => service.StartAsync(cancellationToken)));

        // Last, so the first request a client can make finds every service ready behind it.
        gateway = new ServiceProcess(
            ServiceEnvironment.GatewayName, layout.GatewayDll, GatewayHealthUrl, environments.ForGateway(),
            Path.Combine(LogDir, ServiceEnvironment.GatewayName + ".log"))
        { ReadyTimeout = options.ReadyTimeout, User = UserOf(ServiceEnvironment.GatewayName) };
        gateway.Started += _ => SaveState();
        await gateway.StartAsync(cancellationToken);
        Log($"Hub ready in {stopwatch.Elapsed.TotalSeconds:0.0} s: {GatewayUrl}");
    }

    private async Task StartBrokerAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        if (!sharedNodes)
        {
            rabbitStarted = true;
            SaveState();
            await broker.StartAsync(cancellationToken);
            SaveState();
            Log($"RabbitMQ {string.Join(", ", RabbitNodes.Select(node => node.NodeName))} ready in {stopwatch.Elapsed.TotalSeconds:0.0} s"
                + $" (management {string.Join(", ", RabbitNodes.Select(node => node.ManagementUrl))}).");
        }
        brokerConfigured = true;
        if (sharedNodes)
        {
            await Rabbit.CreateVirtualHostAsync(VirtualHost, cancellationToken);
        }
        brokerAccounts = BrokerProvisioning.NewAccounts(sharedNodes ? $"h{InstanceId}-" : "");
        await BrokerProvisioning.ApplyAsync(Rabbit, VirtualHost, brokerAccounts, cancellationToken);
    }

    private async Task StartDatabaseAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        if (!sharedNodes)
        {
            postgresStarted = true;
            SaveState();
            await Postgres.StartAsync(cancellationToken);
            Log($"PostgreSQL ready on port {Postgres.Port} in {stopwatch.Elapsed.TotalSeconds:0.0} s.");
        }
        databasesCreated = true;
        await databases.CreateAllAsync(cancellationToken);
        await MigrateAsync(cancellationToken);
    }

    /// <summary>
    /// Each service's <c>migrate</c> command with its migration role, as a deployment's migration job would run it, before
    /// any service starts: the services themselves may not change their schema, and refuse to start on an old one. Its
    /// output goes to the top of the service's log.
    /// </summary>
    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(HubService.All.Select(async service =>
        {
            var log = Path.Combine(LogDir, service.Name + ".log");
            var result = await ServiceProcess.RunOnceAsync(
                layout.ServiceDll(service), ["migrate"], environments.ForMigration(service), TimeSpan.FromMinutes(3), cancellationToken, UserOf(service.Name));
            await UnixFiles.PrepareLogAsync(log, cancellationToken: cancellationToken);
            await File.AppendAllTextAsync(
                log, $"--- {DateTimeOffset.UtcNow:O} LocalHub migrates {service.Name}{Environment.NewLine}{result.Output}", cancellationToken);
            if (result.ExitCode != 0)
            {
                throw new LocalHubException(
                    $"{service.Name}: migrate exited with code {result.ExitCode}.{Environment.NewLine}{ProcessRunner.Tail(log, 20)}");
            }
        }));
        Log($"Databases migrated in {stopwatch.Elapsed.TotalSeconds:0.0} s.");
    }

    private async Task CreatePkiAsync(CancellationToken cancellationToken)
    {
        await Task.Run(() => DemoPki.Ensure(PkiDir, ClientIds), cancellationToken);
        UnixFiles.SetMode(PkiDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(LedgerCheckpointDir);
        foreach (var service in HubService.All)
        {
            Directory.CreateDirectory(WatchdogStateDir(service.Name));
        }
        if (!ServiceAccounts.Enabled)
        {
            return;
        }

        foreach (var service in HubService.All)
        {
            await ServiceAccounts.GiveAsync(WatchdogStateDir(service.Name), ServiceAccounts.UserFor(service.Name), cancellationToken: cancellationToken);
        }

        // The services' users may pass through the PKI directory (0711, no listing) to the files named to them: the
        // public ones (CA certificate, revocation list, caller-token public key) readable by all, each private key its
        // one process's alone. The CA key and the clients' keys stay LocalHub's.
        UnixFiles.SetMode(PkiDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var gatewayUser = ServiceAccounts.UserFor(ServiceEnvironment.GatewayName);
        var consentUser = ServiceAccounts.UserFor(Catalogue.Consent.Name);
        await ServiceAccounts.GiveAsync(Path.Combine(PkiDir, "gateway.key"), gatewayUser, cancellationToken: cancellationToken);
        await ServiceAccounts.GiveAsync(Path.Combine(PkiDir, "caller-token.key"), gatewayUser, cancellationToken: cancellationToken);
        await ServiceAccounts.GiveAsync(Path.Combine(PkiDir, "ledger-signing.key"), consentUser, cancellationToken: cancellationToken);
        await ServiceAccounts.GiveAsync(LedgerCheckpointDir, consentUser, cancellationToken: cancellationToken);

        // The internal CA's directory likewise: its certificates readable by all, each service's server key its own, the
        // gateway's hop key the gateway's, the internal CA key LocalHub's.
        var internalDir = Path.GetDirectoryName(InternalCaCertificatePath)!;
        UnixFiles.SetMode(internalDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        await ServiceAccounts.GiveAsync(Path.Combine(internalDir, "gateway-hop.key"), gatewayUser, cancellationToken: cancellationToken);
        foreach (var service in HubService.All)
        {
            await ServiceAccounts.GiveAsync(Path.Combine(internalDir, service.Name + ".key"), ServiceAccounts.UserFor(service.Name), cancellationToken: cancellationToken);
        }
    }

    /// <summary>Every process's user: the services' and the gateway's.</summary>
    private static IEnumerable<string> ProcessUsers =>
        HubService.All.Select(service => service.Name).Append(ServiceEnvironment.GatewayName).Select(ServiceAccounts.UserFor);

    private string? UserOf(string process) => ServiceAccounts.Enabled ? ServiceAccounts.UserFor(process) : null;

    /// <summary>
    /// The services' users must reach their binaries, the demo configuration and the state directory; a checkout under
    /// a directory closed to others (a mktemp directory, /root) would stop them at start, so say so here, plainly.
    /// </summary>
    private void RequireReachableByServiceUsers()
    {
        if (!ServiceAccounts.Enabled)
        {
            return;
        }

        foreach (var path in (string[])[layout.Root, StateDir])
        {
            if (!UnixFiles.IsTraversableByOthers(path))
            {
                throw new LocalHubException(
                    $"The services run as their own users (hub-*), who cannot reach {path}: a directory above it is closed to other users. "
                    + "Let others through (chmod o+x on that directory; deploy/test.sh and deploy/run.sh do it for the checkout), "
                    + "or run the services as the current user with HUB_SERVICE_USERS=0.");
            }
        }
    }

    private static HubService RequireService(string name) =>
        HubService.All.FirstOrDefault(service => service.Name == name)
            ?? throw new ArgumentException($"No service '{name}'; known: {string.Join(", ", ServiceNames)}.", nameof(name));

    private void Log(string message) => options.Log?.Invoke(message);
}
