using System.Security.Cryptography;

namespace FamiljecentralHub.LocalHub.Processes;

/// <summary>File ownership, modes and generated secrets.</summary>
internal static class UnixFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Hex, so it needs no escaping in connection strings, URLs or config files.</summary>
    public static string NewPassword() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Reads a secret kept in a file, creating it with <paramref name="create"/> the first time.</summary>
    public static string ReadOrCreateSecret(string path, Func<string> create)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }
        var secret = create();
        WriteSecret(path, secret);
        return secret;
    }

    public static void WriteSecret(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created owner-only, so the secret is never readable by others, not even for a moment.
            options.UnixCreateMode = OwnerOnly;
        }
        using (var writer = new StreamWriter(new FileStream(path, options)))
        {
            writer.Write(content);
        }
        SetMode(path, OwnerOnly);
    }

    /// <summary>
    /// Makes <paramref name="path"/> a log file that only its owner may read (0600), in a directory only its owner may
    /// enter (0700), owned by <paramref name="owner"/> (null: the user running this). A log may quote what a process
    /// was told about a message; no other local user may read it. Created owner-only, never readable for a moment; a
    /// file kept from an earlier run is restricted too. Writers append to it and keep its owner and mode.
    /// </summary>
    public static async Task PrepareLogAsync(string path, string? owner = null, CancellationToken cancellationToken = default)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        SetMode(directory, OwnerOnlyDirectory);
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }
        using (new FileStream(path, options))
        {
        }
        SetMode(path, OwnerOnly);
        if (owner is not null)
        {
            await ProcessRunner.RunCheckedAsync("chown", [$"{owner}:{owner}", path, directory], cancellationToken: cancellationToken);
        }
    }

    /// <summary>Every file directly in <paramref name="directory"/> owner-only, and the directory itself: logs kept from an earlier run.</summary>
    public static void RestrictLogDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        SetMode(directory, OwnerOnlyDirectory);
        foreach (var file in Directory.GetFiles(directory))
        {
            SetMode(file, OwnerOnly);
        }
    }

    public static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>Gives a directory tree to a service user (rabbitmq, postgres); the servers refuse to run as root.</summary>
    public static Task ChownAsync(string path, string user, CancellationToken cancellationToken) =>
        ProcessRunner.RunCheckedAsync("chown", ["-R", $"{user}:{user}", path], cancellationToken: cancellationToken);

    /// <summary>
    /// True when every ancestor lets other users through. The servers run as their own users and cannot use a
    /// directory under /root, for example.
    /// </summary>
    public static bool IsTraversableByOthers(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }
        for (var directory = new DirectoryInfo(Path.GetFullPath(path)); directory is not null; directory = directory.Parent)
        {
            if (directory.Exists && (directory.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Where a state directory's RabbitMQ and PostgreSQL data go: inside it when the servers' users can reach it,
    /// otherwise (a state directory under /root, say) a directory in /tmp named after it.
    /// </summary>
    public static string NodesDirectoryFor(string stateDir) =>
        IsTraversableByOthers(stateDir)
            ? stateDir
            : Path.Combine(Path.GetTempPath(), "familjecentralhub-" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(stateDir)))[..12]);

    /// <summary>Deletes a directory tree if it exists; missing files are not an error.</summary>
    public static void DeleteDirectory(string path)
    {
        // A server killed a moment ago may still be closing a file in it, so "directory not empty" gets a retry.
        for (var attempt = 1; Directory.Exists(path); attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception e) when (e is IOException && attempt < 5)
            {
                Thread.Sleep(200);
            }
        }
    }
}
