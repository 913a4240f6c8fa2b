using System.Globalization;
using System.Runtime.InteropServices;

namespace FamiljecentralHub.LocalHub.Processes;

/// <summary>Signals and liveness checks for processes we did not necessarily start ourselves.</summary>
internal static partial class UnixProcess
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends a signal; false when the process is already gone.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && Kill(pid, signal) == 0;

    /// <summary>
    /// True while the process exists and is not a zombie. Zombies count as gone: PID 1 in these containers does
    /// not always reap orphans, so a server that stopped cleanly can linger as &lt;defunct&gt; indefinitely.
    /// </summary>
    public static bool IsAlive(int pid)
    {
        var state = ReadStat(pid)?.State;
        return state is not null and not 'Z' and not 'X';
    }

    /// <summary>The command line with arguments separated by spaces, or an empty string when gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Live processes whose parent is <paramref name="pid"/>.</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var candidate) && ReadStat(candidate) is { } stat
                && stat.ParentPid == pid && stat.State is not 'Z' and not 'X')
            {
                children.Add(candidate);
            }
        }
        return children;
    }

    /// <summary>
    /// Live processes whose command line or environment mentions <paramref name="fragment"/> (a state
    /// directory, say), with all their descendants: the RabbitMQ VM names its directories only in its
    /// environment, and PostgreSQL's backends name nothing at all.
    /// </summary>
    public static IReadOnlyList<int> FindReferencing(string fragment)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && pid != Environment.ProcessId && IsAlive(pid)
                && (CommandLine(pid).Contains(fragment, StringComparison.Ordinal) || EnvironmentMentions(pid, fragment)))
            {
                found.Add(pid);
            }
        }
        for (var index = 0; index < found.Count; index++)
        {
            found.AddRange(Children(found[index]).Where(child => !found.Contains(child)));
        }
        return found;
    }

    private static bool EnvironmentMentions(int pid, string fragment)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Contains(fragment, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process is gone; false on timeout.</summary>
    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(50, cancellationToken);
        }
        return true;
    }

    /// <summary>SIGTERM, then SIGKILL if the process is still there after <paramref name="grace"/>.</summary>
    public static async Task TerminateAsync(int pid, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (!Signal(pid, SigTerm))
        {
            return;
        }
        if (!await WaitForExitAsync(pid, grace, cancellationToken))
        {
            Signal(pid, SigKill);
            await WaitForExitAsync(pid, TimeSpan.FromSeconds(10), cancellationToken);
        }
    }

    /// <summary>The one-letter state of proc(5): R, S, D, T (stopped), Z (zombie) ...; null when gone.</summary>
    public static char? State(int pid) => ReadStat(pid)?.State;

    /// <summary>Start time in clock ticks since boot; with the pid it identifies a process uniquely.</summary>
    public static long? StartTime(int pid) => ReadStat(pid)?.StartTime;

    private static (char State, int ParentPid, long StartTime)? ReadStat(int pid)
    {
        try
        {
            // The command name in field 2 may contain spaces and parentheses; the fields after its last ')' are fixed.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 3, 4 and 22 of proc(5): state, parent pid, start time.
            return (rest[0][0], int.Parse(rest[1], CultureInfo.InvariantCulture), long.Parse(rest[19], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
