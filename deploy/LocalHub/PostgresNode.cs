using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using FamiljecentralHub.LocalHub.Processes;
using Npgsql;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// A PostgreSQL 15 cluster from Debian's package: either a private one this object creates, starts and stops
/// (state in its own directory, its own port), or an external one on which we only create and drop databases.
/// </summary>
public sealed partial class PostgresNode
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(60);

    private PostgresNode(int port, string password, string? directory)
    {
        Port = port;
        Password = password;
        Directory = directory;
    }

    public string Host { get; private init; } = "127.0.0.1";

    public int Port { get; }

    /// <summary>Password of the superuser 'postgres'.</summary>
    public string Password { get; }

    /// <summary>The node's state directory; null for an external node.</summary>
    public string? Directory { get; }

    /// <summary>True when this object starts and stops the cluster; fault injection is allowed only then.</summary>
    public bool IsOwned => Directory is not null;

    public string? DataDirectory => Directory is null ? null : Path.Combine(Directory, "data");

    public string? LogPath => Directory is null ? null : Path.Combine(Directory, "postgres.log");

    /// <summary>
    /// The unix socket lives with the node so nodes never share one, unless the path would not fit in
    /// sun_path (107 bytes).
    /// </summary>
    private string SocketDirectory
    {
        get
        {
            var directory = RequireOwned();
            var socketDirectory = Path.Combine(directory, "sock");
            if (Encoding.UTF8.GetByteCount(socketDirectory) + 20 <= 107)
            {
                return socketDirectory;
            }
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(directory)))[..12];
            return Path.Combine(Path.GetTempPath(), $"familjecentralhub-pg-{hash}");
        }
    }

    /// <summary>The postmaster's process id while the cluster runs.</summary>
    public int? PostmasterPid
    {
        get
        {
            if (DataDirectory is null)
            {
                return null;
            }
            try
            {
                var firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
                return int.TryParse(firstLine, CultureInfo.InvariantCulture, out var pid) && UnixProcess.IsAlive(pid) ? pid : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// A private cluster with its state under <paramref name="directory"/>, which must be reachable by the
    /// postgres user (not under /root).
    /// </summary>
    public static PostgresNode Private(string directory, int port)
    {
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        // initdb reads the superuser password from this file, and it stays as our record of it.
        var password = UnixFiles.ReadOrCreateSecret(Path.Combine(directory, "pwfile"), UnixFiles.NewPassword);
        return new PostgresNode(port, password, directory);
    }

    /// <summary>A cluster someone else runs on 127.0.0.1; we only create and drop databases on it.</summary>
    public static PostgresNode External(int port, string password) => new(port, password, null);

    /// <summary>A cluster at another address (a deployment's PostgreSQL service, for provisioning only).</summary>
    public static PostgresNode External(string host, int port, string password) => new(port, password, null) { Host = host };

    /// <summary>A connection string for the superuser.</summary>
    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Database = database,
            Username = "postgres",
            Password = Password,
        }.ConnectionString;

    /// <summary>Creates the cluster on first use, starts it (a no-op when it runs) and waits until it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var directory = RequireOwned();
        if (PostmasterPid is not null)
        {
            return;
        }
        var dataDirectory = DataDirectory!;
        await UnixFiles.ChownAsync(directory, "postgres", cancellationToken);
        UnixFiles.SetMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            UnixFiles.DeleteDirectory(dataDirectory);
            // -N skips initdb's own fsync of the empty cluster (about a second); the server itself keeps fsync
            // on, because the tests must show that committed data survives a crash.
            await AsPostgresAsync(
                "initdb",
                ["-D", dataDirectory, "-U", "postgres", $"--pwfile={Path.Combine(directory, "pwfile")}",
                 "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "-N"],
                cancellationToken);
            await File.AppendAllTextAsync(
                Path.Combine(dataDirectory, "postgresql.conf"), "\ninclude_if_exists = 'hub.conf'\n", cancellationToken);
        }
        await WriteSettingsAsync(directory, dataDirectory, cancellationToken);
        // After a kill the lock file names a dead postmaster. Where nothing reaps orphans (PID 1 in these
        // containers does not), that postmaster lingers as a zombie, which PostgreSQL's own stale-lock check
        // mistakes for a running server. PostmasterPid is null here, so no live postmaster owns these files.
        foreach (var lockFile in (string[])[
            Path.Combine(dataDirectory, "postmaster.pid"),
            Path.Combine(SocketDirectory, $".s.PGSQL.{Port}.lock"),
            Path.Combine(SocketDirectory, $".s.PGSQL.{Port}")])
        {
            File.Delete(lockFile);
        }

        // Both logs owner-only, postgres's: pg_ctl's output, and the server's, which quotes the errors it reports.
        await UnixFiles.PrepareLogAsync(Path.Combine(directory, "pg_ctl.log"), "postgres", cancellationToken);
        await UnixFiles.PrepareLogAsync(LogPath!, "postgres", cancellationToken);
        var exitCode = await ProcessRunner.RunDaemonStarterAsync(
            "runuser",
            ["-u", "postgres", "--", Path.Combine(BinDirectory, "pg_ctl"), "-D", dataDirectory, "-l", LogPath!, "-w", "-t", "60", "start"],
            Path.Combine(directory, "pg_ctl.log"),
            timeout: ServerTimeout + TimeSpan.FromSeconds(10),
            cancellationToken: cancellationToken);
        if (exitCode != 0)
        {
            throw new LocalHubException(
                $"PostgreSQL on port {Port} did not start (pg_ctl exited with {exitCode}):{System.Environment.NewLine}"
                + ProcessRunner.Tail(Path.Combine(directory, "pg_ctl.log"), 10) + System.Environment.NewLine
                + ProcessRunner.Tail(LogPath!, 30));
        }
    }

    /// <summary>Fast shutdown: open transactions are rolled back, committed data is on disk.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        RequireOwned();
        if (PostmasterPid is not { } pid)
        {
            return;
        }
        var result = await ProcessRunner.RunAsync(
            "runuser",
            ["-u", "postgres", "--", Path.Combine(BinDirectory, "pg_ctl"), "-D", DataDirectory!, "-m", "fast", "-w", "-t", "60", "stop"],
            timeout: ServerTimeout + TimeSpan.FromSeconds(10),
            cancellationToken: cancellationToken);
        if (!await UnixProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(result.ExitCode == 0 ? 10 : 1), cancellationToken))
        {
            await KillAsync(cancellationToken);
        }
    }

    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await StartAsync(cancellationToken);
    }

    /// <summary>
    /// SIGKILL the postmaster and its backends: a crash. <see cref="StartAsync"/> then runs crash recovery from
    /// the WAL. The backends are killed too because a new postmaster refuses to start while any of them still
    /// holds the old shared memory.
    /// </summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        RequireOwned();
        if (PostmasterPid is not { } pid)
        {
            return;
        }
        var backends = UnixProcess.Children(pid);
        UnixProcess.Signal(pid, UnixProcess.SigKill);
        foreach (var backend in backends)
        {
            UnixProcess.Signal(backend, UnixProcess.SigKill);
        }
        foreach (var process in backends.Append(pid))
        {
            if (!await UnixProcess.WaitForExitAsync(process, TimeSpan.FromSeconds(10), cancellationToken))
            {
                throw new LocalHubException($"PostgreSQL process {process} did not die.");
            }
        }
    }

    /// <summary>Creates the database unless it exists; safe to call concurrently.</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        await using var connection = await OpenAdminConnectionAsync("postgres", cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.AddWithValue(name);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }
        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another caller created it between our check and our CREATE.
        }
    }

    /// <summary>Drops the database, disconnecting its sessions; a missing one is not an error.</summary>
    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        await using var connection = await OpenAdminConnectionAsync("postgres", cancellationToken);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The superuser on <paramref name="database"/>, unpooled.</summary>
    internal async Task<NpgsqlConnection> OpenAdminConnectionAsync(string database, CancellationToken cancellationToken)
    {
        // No pooling: an idle pooled admin connection would outlive a stopped or killed server and fail later.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString(database)) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private async Task WriteSettingsAsync(string directory, string dataDirectory, CancellationToken cancellationToken)
    {
        var socketDirectory = SocketDirectory;
        System.IO.Directory.CreateDirectory(socketDirectory);
        await UnixFiles.ChownAsync(socketDirectory, "postgres", cancellationToken);

        // Rewritten at every start so the port can change; shared_buffers stays modest because tests may run
        // several clusters on a small machine, and max_connections leaves room for every service's pool of
        // several hubs sharing one cluster. fsync and synchronous_commit keep their durable defaults.
        var settings = new StringBuilder()
            .AppendLine("listen_addresses = '127.0.0.1'")
            .AppendLine(CultureInfo.InvariantCulture, $"port = {Port}")
            .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{socketDirectory.Replace("'", "''", StringComparison.Ordinal)}'")
            .AppendLine("shared_buffers = 64MB")
            .AppendLine("max_connections = 300")
            // A failing statement's text, its parameters and the error's detail and context would quote the values a
            // service sent (a refused NUL in a message's free text, a guardian's name in the failing row): the log keeps
            // the error's code and message alone (docs/error-queues.md).
            .AppendLine("log_min_error_statement = panic")
            .AppendLine("log_parameter_max_length_on_error = 0")
            .AppendLine("log_parameter_max_length = 0")
            .AppendLine("log_error_verbosity = terse");
        // HUB_POSTGRES_SETTINGS: the benchmark's experiments with the server's settings, lines separated by ';'
        // (shared_preload_libraries = 'pg_stat_statements', say, to count the statements a referral costs).
        foreach (var line in (System.Environment.GetEnvironmentVariable("HUB_POSTGRES_SETTINGS") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            settings.AppendLine(line);
        }

        var path = Path.Combine(dataDirectory, "hub.conf");
        await File.WriteAllTextAsync(path, settings.ToString(), cancellationToken);
        await UnixFiles.ChownAsync(path, "postgres", cancellationToken);
    }

    private static async Task AsPostgresAsync(string program, string[] arguments, CancellationToken cancellationToken) =>
        await ProcessRunner.RunCheckedAsync(
            "runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, program), .. arguments], timeout: ServerTimeout, cancellationToken: cancellationToken);

    private static void ValidateName(string name)
    {
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain lower-case database name.", nameof(name));
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();

    private string RequireOwned() =>
        Directory ?? throw new InvalidOperationException(
            "This PostgreSQL cluster is external and shared; only a private one may be started, stopped or faulted (HubNodes.Private).");
}
