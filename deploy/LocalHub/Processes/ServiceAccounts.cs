namespace FamiljecentralHub.LocalHub.Processes;

/// <summary>
/// The system user each hub process runs as when LocalHub runs as root: <c>hub-gateway</c>, <c>hub-consent</c>, … (one
/// per service, shared by its instances), made on first use without a home or a login shell, as Debian's packages make
/// <c>rabbitmq</c> and <c>postgres</c>. A process that is breached then holds its own keys and nothing else: not the CA
/// key, not another service's key, not root. A user that does not run LocalHub as root has nothing to drop to: the
/// processes run as that user.
/// </summary>
internal static class ServiceAccounts
{
    private const string Prefix = "hub-";

    /// <summary>True when processes are started as their own users (LocalHub runs as root, and HUB_SERVICE_USERS is not 0).</summary>
    public static bool Enabled { get; } =
        !OperatingSystem.IsWindows() && Environment.UserName == "root" && Environment.GetEnvironmentVariable("HUB_SERVICE_USERS") != "0";

    /// <summary>The user a process named <paramref name="process"/> (a service, or "gateway") runs as.</summary>
    public static string UserFor(string process) => Prefix + process;

    /// <summary>Makes the user unless it exists; two hubs starting at once may both try, and one of them finds it made.</summary>
    public static async Task EnsureAsync(string user, CancellationToken cancellationToken = default)
    {
        if ((await ProcessRunner.RunAsync("id", ["-u", user], cancellationToken: cancellationToken)).ExitCode == 0)
        {
            return;
        }

        var made = await ProcessRunner.RunAsync(
            "useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user],
            cancellationToken: cancellationToken);
        if (made.ExitCode != 0 && (await ProcessRunner.RunAsync("id", ["-u", user], cancellationToken: cancellationToken)).ExitCode != 0)
        {
            throw new LocalHubException($"Could not make the system user {user} (useradd exited with {made.ExitCode}): {made.Output.Trim()}");
        }
    }

    /// <summary>The command prefix that runs what follows as <paramref name="user"/>, with its own group and no other.</summary>
    public static string[] RunAs(string user) => ["setpriv", $"--reuid={user}", $"--regid={user}", "--init-groups", "--"];

    /// <summary>
    /// Hands a file to <paramref name="user"/> alone (0600, or 0644 for a public file), or a directory (0700): a key only
    /// the process that needs it can read.
    /// </summary>
    public static Task GiveAsync(string path, string user, bool readableByAll = false, CancellationToken cancellationToken = default)
    {
        UnixFiles.SetMode(path, Directory.Exists(path)
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            : readableByAll
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead
                : UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // A directory with all it holds: a file an earlier run wrote there as root would stop the service appending to it.
        return ProcessRunner.RunCheckedAsync("chown", ["-R", $"{user}:{user}", path], cancellationToken: cancellationToken);
    }
}
