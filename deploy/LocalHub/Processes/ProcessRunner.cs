using System.Diagnostics;
using System.Text;

namespace FamiljecentralHub.LocalHub.Processes;

internal sealed record ProcessResult(int ExitCode, string Output);

/// <summary>Runs short-lived commands (rabbitmqctl, initdb, pg_ctl, chown) and collects their output.</summary>
internal static class ProcessRunner
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Runs a command and fails with its output when it exits non-zero.</summary>
    public static async Task<string> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var argumentList = arguments.ToList();
        var result = await RunAsync(fileName, argumentList, environment, timeout, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new LocalHubException(
                $"'{fileName} {string.Join(' ', argumentList)}' exited with {result.ExitCode}:{Environment.NewLine}{result.Output.Trim()}");
        }
        return result.Output;
    }

    /// <param name="prepare">Adjusts the start info (working directory, inherited variables) before <paramref name="environment"/> is applied.</param>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default,
        Action<ProcessStartInfo>? prepare = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            // The caller's directory may be one the rabbitmq and postgres users cannot enter (/root), and su and
            // runuser then warn into the output or fail; every command here takes absolute paths.
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        prepare?.Invoke(info);
        Apply(info, environment);

        using var process = Start(info);
        process.StandardInput.Close();
        var output = new StringBuilder();
        var stdout = PumpAsync(process.StandardOutput, output);
        var stderr = PumpAsync(process.StandardError, output);

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
            await Task.WhenAll(stdout, stderr).WaitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            throw new LocalHubException(
                $"'{fileName}' did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s:{Environment.NewLine}{Snapshot(output)}");
        }
        return new ProcessResult(process.ExitCode, Snapshot(output));
    }

    /// <summary>
    /// Starts a command that daemonises a server (rabbitmq-server -detached, pg_ctl start). Its output goes to a
    /// file instead of a pipe: a daemon that inherits our pipe would keep it open for its whole life and a reader
    /// waiting for end-of-file would never return. setsid puts the server in its own session so a Ctrl-C in the
    /// terminal running the hub reaches only the hub, which then stops the servers in order.
    /// </summary>
    public static async Task<int> RunDaemonStarterAsync(
        string fileName,
        IEnumerable<string> arguments,
        string outputFile,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            WorkingDirectory = "/",
        };
        info.ArgumentList.Add("bash");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("out=\"$1\"; shift; exec \"$@\" >>\"$out\" 2>&1 </dev/null");
        info.ArgumentList.Add("bash");
        info.ArgumentList.Add(outputFile);
        info.ArgumentList.Add(fileName);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        Apply(info, environment);

        using var process = Start(info);
        process.StandardInput.Close();
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            throw new LocalHubException($"'{fileName}' did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s; see {outputFile}");
        }
        return process.ExitCode;
    }

    /// <summary>The last lines of a log file, for error messages.</summary>
    public static string Tail(string path, int lines = 40)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            // Only the end matters and server logs can grow large.
            stream.Seek(Math.Max(0, stream.Length - 64 * 1024), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines)).TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"(no log at {path})";
        }
    }

    private static Process Start(ProcessStartInfo info)
    {
        try
        {
            return Process.Start(info) ?? throw new LocalHubException($"Could not start '{info.FileName}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LocalHubException($"Could not start '{info.FileName}': {e.Message}. Run deploy/prerequisites.sh.", e);
        }
    }

    private static void Apply(ProcessStartInfo info, IReadOnlyDictionary<string, string>? environment)
    {
        if (environment is null)
        {
            return;
        }
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder output)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
