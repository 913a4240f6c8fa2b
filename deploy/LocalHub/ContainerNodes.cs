using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using FamiljecentralHub.LocalHub.Processes;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// RabbitMQ and PostgreSQL in containers, started by Testcontainers from the hub's own images (deploy/containers: the
/// images the deployment runs, built from Debian's packages), for one hub or one <see cref="ScratchPostgres"/>. They are
/// then provisioned exactly as shared external nodes are (<see cref="ExternalNodes"/>: a virtual host, users and
/// databases named after the hub), and removed again at dispose. Ryuk, Testcontainers' reaper, is not used (its image
/// comes from a registry these machines do not reach): every container carries the labels of <see cref="RunLabel"/> so a
/// script can remove what a killed test process left (docs/testing.md).
/// </summary>
public sealed class ContainerNodes : IAsyncDisposable
{
    public const string RabbitMqImageVariable = "HUB_TEST_RABBITMQ_IMAGE";
    public const string PostgresImageVariable = "HUB_TEST_POSTGRES_IMAGE";

    /// <summary>Set by .ci/run to one value per run, so the run's clean-up removes its own leftovers and nobody else's.</summary>
    public const string RunVariable = "HUB_TEST_RUN";

    /// <summary>Every container this class starts has this label (the run's id, or "dev").</summary>
    public const string RunLabel = "familjecentralhub.test-run";

    public const string OwnerLabel = "familjecentralhub.test-owner";

    private const ushort AmqpPort = 5672;
    private const ushort ManagementPort = 15672;
    private const string PasswordFile = "/tmp/hub-postgres-password";
    private const string HostRulesFile = "/tmp/hub-pg_hba.conf";
    private const string HostRules = "local all all trust\nhost all all all scram-sha-256\n";

    private readonly RabbitMqContainer? rabbit;
    private readonly PostgreSqlContainer? postgres;

    private ContainerNodes(RabbitMqContainer? rabbit, PostgreSqlContainer? postgres, ExternalNodes nodes)
    {
        this.rabbit = rabbit;
        this.postgres = postgres;
        Nodes = nodes;
    }

    public static string RabbitMqImage => Environment.GetEnvironmentVariable(RabbitMqImageVariable) is { Length: > 0 } image
        ? image : "localhost/familjecentralhub/rabbitmq:dev";

    public static string PostgresImage => Environment.GetEnvironmentVariable(PostgresImageVariable) is { Length: > 0 } image
        ? image : "localhost/familjecentralhub/postgres:dev";

    /// <summary>The nodes as shared external nodes are described; the broker's fields are empty without a broker.</summary>
    public ExternalNodes Nodes { get; }

    /// <summary>
    /// True when Testcontainers finds a container engine that answers (DOCKER_HOST, ~/.testcontainers.properties or the
    /// default socket). Asked once per process.
    /// </summary>
    public static bool EngineAnswers => Engine.Value;

    private static readonly Lazy<bool> Engine = new(() =>
    {
        try
        {
            return TestcontainersSettings.OS.DockerEndpointAuthConfig is not null;
        }
        catch (Exception e) when (e is DockerUnavailableException or InvalidOperationException or IOException)
        {
            return false;
        }
    });

    /// <summary>Starts a broker (unless <paramref name="withBroker"/> is false) and a database server side by side.</summary>
    /// <param name="owner">Who the containers are for (a hub's instance id, a scratch database's prefix): a label, and part of the names.</param>
    /// <summary>
    /// What the PostgreSQL container wrote to its standard output and error: its server log (the image logs there, not to
    /// a file); null when this pair has no PostgreSQL of its own.
    /// </summary>
    public async Task<string?> PostgresLogAsync(CancellationToken cancellationToken)
    {
        if (postgres is null)
        {
            return null;
        }

        var (stdout, stderr) = await postgres.GetLogsAsync(timestampsEnabled: false, ct: cancellationToken);
        return stdout + stderr;
    }

    public static async Task<ContainerNodes> StartAsync(string owner, bool withBroker, Action<string>? log, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var labels = new Dictionary<string, string>
        {
            [RunLabel] = Environment.GetEnvironmentVariable(RunVariable) is { Length: > 0 } run ? run : "dev",
            [OwnerLabel] = owner,
        };
        var adminPassword = UnixFiles.NewPassword();
        var postgresPassword = UnixFiles.NewPassword();

        var rabbit = withBroker
            ? new RabbitMqBuilder(RabbitMqImage)
                .WithLabel(labels)
                .WithUsername("hub-admin")
                .WithPassword(adminPassword)
                .WithHostname("hub-rabbitmq")
                .WithPortBinding(ManagementPort, true)
                .WithCreateParameterModifier(PublishOnLoopbackOnly)
                // The image's server (Debian's, run directly) logs to standard output; the management API answers only
                // once the plugin is up, which the startup line comes after.
                .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Server startup complete"))
                .Build()
            : null;
        // The image's entry point makes the cluster with the superuser's password from a file, as the deployment's Secret
        // gives it (deploy/containers/postgres-entrypoint.sh); the variables Testcontainers sets for Docker Hub's image are
        // ignored by it.
        var postgres = new PostgreSqlBuilder(PostgresImage)
            .WithLabel(labels)
            .WithCreateParameterModifier(PublishOnLoopbackOnly)
            .WithPassword(postgresPassword)
            .WithEnvironment("POSTGRES_PASSWORD_FILE", PasswordFile)
            .WithResourceMapping(Encoding.UTF8.GetBytes(postgresPassword + "\n"), PasswordFile, fileMode: Unix.FileMode644)
            // initdb's rules admit TCP logins from the container's own loopback only, but a published port's connections
            // arrive from the engine's bridge (podman's 10.88.0.1): these rules take a password from any address, as the
            // scram-sha-256 rules of the deployment do from loopback.
            .WithResourceMapping(Encoding.UTF8.GetBytes(HostRules), HostRulesFile, fileMode: Unix.FileMode644)
            .WithCommand("-c", $"hba_file={HostRulesFile}")
            .Build();

        async Task RemoveAsync() => await Task.WhenAll(
            rabbit?.DisposeAsync().AsTask() ?? Task.CompletedTask, postgres.DisposeAsync().AsTask());
        try
        {
            await Task.WhenAll(
                rabbit?.StartAsync(cancellationToken) ?? Task.CompletedTask,
                postgres.StartAsync(cancellationToken));
            RequireLoopback(postgres.Hostname);
            await HostReachesAsync(rabbit, postgres, postgresPassword, cancellationToken);
        }
        catch (Exception e) when (e is not (OperationCanceledException or LocalHubException))
        {
            await RemoveAsync();
            throw new LocalHubException(
                $"The test nodes' containers did not start ({e.GetType().Name}: {e.Message}). The images {RabbitMqImage} and {PostgresImage} "
                + "must exist in the engine (deploy/containers/build.sh builds them); HUB_TEST_NODES=private takes private nodes instead.");
        }
        catch
        {
            await RemoveAsync();
            throw;
        }

        var started = new ContainerNodes(
            rabbit,
            postgres,
            new ExternalNodes(
                rabbit is null ? "" : "rabbit@hub-rabbitmq",
                rabbit?.GetMappedPublicPort(AmqpPort) ?? 0,
                rabbit?.GetMappedPublicPort(ManagementPort) ?? 0,
                rabbit is null ? "" : "hub-admin",
                rabbit is null ? "" : adminPassword,
                postgres.GetMappedPublicPort(PostgreSqlBuilder.PostgreSqlPort),
                postgresPassword));
        log?.Invoke($"Containers {string.Join(" and ", new[] { rabbit?.Image.FullName, postgres.Image.FullName }.OfType<string>())} ready in {stopwatch.Elapsed.TotalSeconds:0.0} s: {started.Nodes}.");
        return started;
    }

    /// <summary>Removes the containers (with their data: nothing in them outlives the tests).</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(
            rabbit?.DisposeAsync().AsTask() ?? Task.CompletedTask,
            postgres?.DisposeAsync().AsTask() ?? Task.CompletedTask);
    }

    /// <summary>
    /// Testcontainers calls PostgreSQL ready when pg_isready answers inside the container, and RabbitMQ when its log says
    /// so; the host reaches them through the engine's published ports, whose forwarding can lag the container, or
    /// falter while the engine sets up or tears down another container's (seen in CI: a login refused right after the
    /// container was ready). Ready here means the host can log in to PostgreSQL and open a connection to the broker's
    /// port, tried for up to a minute.
    /// </summary>
    private static async Task HostReachesAsync(
        RabbitMqContainer? rabbit, PostgreSqlContainer postgres, string postgresPassword, CancellationToken cancellationToken)
    {
        var database = PostgresNode.External(postgres.GetMappedPublicPort(PostgreSqlBuilder.PostgreSqlPort), postgresPassword);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using (await database.OpenAdminConnectionAsync("postgres", cancellationToken))
                {
                }
                if (rabbit is not null)
                {
                    using var socket = new TcpClient();
                    await socket.ConnectAsync(IPAddress.Loopback, rabbit.GetMappedPublicPort(AmqpPort), cancellationToken);
                }
                return;
            }
            catch (Exception e) when (e is SocketException or NpgsqlException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * attempt, 1000)), cancellationToken);
            }
        }
    }

    /// <summary>
    /// An engine publishes a port on every address of the machine unless told otherwise: the test nodes' only on
    /// 127.0.0.1, where the hub reaches them, so a test broker's or database's login is never offered beyond the machine.
    /// </summary>
    private static void PublishOnLoopbackOnly(CreateContainerParameters parameters)
    {
        foreach (var binding in parameters.HostConfig?.PortBindings?.Values.SelectMany(bindings => bindings) ?? [])
        {
            binding.HostIP = "127.0.0.1";
        }
    }

    /// <summary>
    /// The hub and its services reach the nodes on 127.0.0.1 and the published ports, and nothing else: an engine that
    /// reports another address for them (a remote DOCKER_HOST, the podman bridge) is refused rather than used.
    /// </summary>
    private static void RequireLoopback(string host)
    {
        if (host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address)))
        {
            return;
        }
        throw new LocalHubException(
            $"The container engine publishes the test nodes on {host}, not on loopback; set TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 (docs/testing.md).");
    }
}
