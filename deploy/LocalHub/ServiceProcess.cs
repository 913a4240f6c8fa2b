using System.Diagnostics;
using System.Globalization;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub;

/// <summary>
/// One built service (or the gateway) run as <c>dotnet &lt;dll&gt;</c>, its output appended to a log file, ready
/// when <c>GET {HealthUrl}/health/ready</c> answers 200. Once ready it is supervised: if it exits without being asked
/// to (a crash, or a service that stops itself to be started afresh), it is started again, as systemd's
/// <c>Restart=on-failure</c> would.
/// </summary>
public sealed class ServiceProcess(
    string name,
    string dllPath,
    Uri healthUrl,
    IReadOnlyDictionary<string, string> environment,
    string logPath) : IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstRestartDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRestartDelay = TimeSpan.FromSeconds(30);
    private readonly Lock gate = new();
    private Process? process;

    /// <summary>Set while the process should be running; cancelled when we stop or kill it on purpose.</summary>
    private CancellationTokenSource? supervision;
    private int restarts;
    private HttpClient? probe;

    public string Name { get; } = name;

    public string DllPath { get; } = dllPath;

    /// <summary>Where the service's health endpoints are (<c>/health/ready</c>).</summary>
    public Uri HealthUrl { get; } = healthUrl;

    /// <summary>Exactly the variables the service gets on top of a cleaned copy of ours.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public string LogPath { get; } = logPath;

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// PEM of the CA that issued the process's server certificate, for an https <see cref="HealthUrl"/> (a service's
    /// port is HTTPS only); the probe presents no client certificate, which health endpoints do not ask for.
    /// </summary>
    public string? TrustedCaPath { get; init; }

    /// <summary>The system user the process runs as (<see cref="ServiceAccounts"/>); null: the user running this.</summary>
    public string? User { get; init; }

    public int? Pid
    {
        get
        {
            lock (gate)
            {
                return process is { HasExited: false } ? process.Id : null;
            }
        }
    }

    public bool IsRunning => Pid is not null;

    /// <summary>How many times the supervisor has started the process again after it exited by itself.</summary>
    public int Restarts => Volatile.Read(ref restarts);

    /// <summary>Raised with the new process id after every start, so the hub's state file stays current.</summary>
    internal event Action<ServiceProcess>? Started;

    /// <summary>Starts the process (a no-op when it runs) and waits until it reports ready.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }
        if (!File.Exists(DllPath))
        {
            throw new LocalHubException($"{Name}: {DllPath} does not exist. Build the solution first (dotnet build FamiljecentralHub.sln).");
        }
        // Owner-only: a service's log may still quote what it was told about a message.
        await UnixFiles.PrepareLogAsync(LogPath, cancellationToken: cancellationToken);
        await File.AppendAllTextAsync(
            LogPath, $"--- {DateTimeOffset.UtcNow:O} LocalHub starts {Name}{System.Environment.NewLine}", cancellationToken);

        var started = System.Diagnostics.Process.Start(CreateStartInfo())
            ?? throw new LocalHubException($"{Name}: could not start dotnet.");
        started.StandardInput.Close();
        lock (gate)
        {
            process = started;
        }
        Started?.Invoke(this);

        try
        {
            await WaitUntilReadyAsync(cancellationToken);
        }
        catch
        {
            await KillProcessAsync(CancellationToken.None);
            throw;
        }
        Supervise(started);
    }

    /// <summary>From now on, an exit we did not ask for starts the process again.</summary>
    private void Supervise(Process started)
    {
        var watch = new CancellationTokenSource();
        lock (gate)
        {
            supervision?.Cancel();
            supervision = watch;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await started.WaitForExitAsync(watch.Token);
                await RestartAfterExitAsync(started.ExitCode, watch.Token);
            }
            catch (OperationCanceledException) when (watch.IsCancellationRequested)
            {
                // Stopped or killed on purpose.
            }
        });
    }

    private async Task RestartAfterExitAsync(int exitCode, CancellationToken cancellationToken)
    {
        var delay = FirstRestartDelay;
        await File.AppendAllTextAsync(LogPath,
            $"--- {DateTimeOffset.UtcNow:O} LocalHub: {Name} exited by itself with code {exitCode}; starting it again{System.Environment.NewLine}",
            cancellationToken);
        while (true)
        {
            await Task.Delay(delay, cancellationToken);
            try
            {
                await StartAsync(cancellationToken);
                Interlocked.Increment(ref restarts);
                return;
            }
            catch (LocalHubException e)
            {
                await File.AppendAllTextAsync(LogPath,
                    $"--- {DateTimeOffset.UtcNow:O} LocalHub: {Name} did not come back ({e.Message.Split('\n')[0]}); trying again{System.Environment.NewLine}",
                    cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestRestartDelay.Ticks));
            }
        }
    }

    /// <summary>An exit from now on is ours: the supervisor must not undo it.</summary>
    private void Unsupervise()
    {
        lock (gate)
        {
            supervision?.Cancel();
            supervision = null;
        }
    }

    private HttpClient Probe => probe ??= new HttpClient(HealthProbe.Handler(TrustedCaPath)) { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>
    /// After a failed probe, the next one starts on a new connection: a pooled one may still lead to the process that was
    /// killed or frozen on this port, and a TLS connection to it can hang until the timeout every time. The old client is
    /// dropped, not disposed: another wait on this process may still be using it, and its idle connections close by themselves.
    /// </summary>
    private void ResetProbe() => probe = null;

    /// <summary>Polls the readiness endpoint; fails with the log's tail when the process exits or time runs out.</summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken = default)
    {
        var readyUrl = new Uri(HealthUrl, "/health/ready");
        var stopwatch = Stopwatch.StartNew();
        string lastProblem = "no answer yet";
        while (stopwatch.Elapsed < ReadyTimeout)
        {
            var current = process ?? throw new InvalidOperationException($"{Name} was never started.");
            if (current.HasExited)
            {
                throw new LocalHubException(
                    $"{Name} exited with code {current.ExitCode} before it was ready.{System.Environment.NewLine}{LogTail()}");
            }
            try
            {
                using var response = await Probe.GetAsync(readyUrl, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                lastProblem = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            }
            catch (HttpRequestException e)
            {
                lastProblem = e.Message;
                ResetProbe();
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                lastProblem = "request timed out";
                ResetProbe();
            }
            await Task.Delay(200, cancellationToken);
        }
        throw new LocalHubException(
            $"{Name} was not ready at {readyUrl} within {ReadyTimeout.TotalSeconds:0} s ({lastProblem}).{System.Environment.NewLine}{LogTail()}");
    }

    /// <summary>SIGKILL: a crash with no graceful shutdown, for fault tests.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        Unsupervise();
        await KillProcessAsync(cancellationToken);
    }

    private async Task KillProcessAsync(CancellationToken cancellationToken)
    {
        if (process is not { } current || current.HasExited)
        {
            return;
        }
        current.Kill(entireProcessTree: true);
        await current.WaitForExitAsync(cancellationToken);
    }

    /// <summary>SIGTERM (the host shuts down gracefully), then SIGKILL if it is still there after 10 s.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Unsupervise();
        if (process is not { } current || current.HasExited)
        {
            return;
        }
        UnixProcess.Signal(current.Id, UnixProcess.SigTerm);
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(StopGrace);
        try
        {
            await current.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
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
    /// Runs the service's build once as a command (such as consent's <c>verify-ledger</c> or <c>errors</c>) with the
    /// service's own configuration, as an operator would on its host; its output is stdout and stderr together.
    /// </summary>
    public Task<ServiceCommandResult> RunCommandAsync(IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RunOnceAsync(DllPath, arguments, Environment, timeout, cancellationToken, User);

    /// <summary>A service's build run once as a command with exactly <paramref name="environment"/> on top of a cleaned copy of ours.</summary>
    internal static async Task<ServiceCommandResult> RunOnceAsync(
        string dllPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan? timeout, CancellationToken cancellationToken,
        string? user = null)
    {
        string[] command = user is null ? [DotnetHost.Path, dllPath, .. arguments] : [.. ServiceAccounts.RunAs(user), DotnetHost.Path, dllPath, .. arguments];
        var result = await ProcessRunner.RunAsync(
            command[0], command[1..], environment, timeout, cancellationToken,
            prepare: info =>
            {
                info.WorkingDirectory = Path.GetDirectoryName(dllPath)!;
                RemoveInheritedConfiguration(info);
            });
        return new ServiceCommandResult(result.ExitCode, result.Output);
    }

    /// <summary>The last lines of the service's log, for error messages and failing tests.</summary>
    public string LogTail(int lines = 40) => $"--- {LogPath}{System.Environment.NewLine}{ProcessRunner.Tail(LogPath, lines)}";

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        process?.Dispose();
        probe?.Dispose();
    }

    private ProcessStartInfo CreateStartInfo()
    {
        // setsid: a Ctrl-C in the hub's terminal reaches only the hub, which stops services in order. The shell
        // execs dotnet with output appended straight to the log file, so the log keeps working even if the
        // orchestrator dies, and the process id we hold is dotnet's own. bash, not sh: Debian's sh (dash)
        // silently drops variables whose names are not shell identifiers, such as Services__maternity-care.
        var info = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            WorkingDirectory = Path.GetDirectoryName(DllPath)!,
        };
        // The log is opened by the shell, before setpriv drops to the service's user: the service writes to it through
        // that descriptor and cannot open, read or replace it (it stays owner-only, LocalHub's).
        string[] runAs = User is null ? [] : ServiceAccounts.RunAs(User);
        foreach (var argument in (string[])["bash", "-c", "log=\"$1\"; shift; exec \"$@\" >>\"$log\" 2>&1", "bash", LogPath, .. runAs, DotnetHost.Path, DllPath])
        {
            info.ArgumentList.Add(argument);
        }

        RemoveInheritedConfiguration(info);
        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }
        return info;
    }

    /// <summary>
    /// Configuration that a developer's shell or the test host happens to carry must not silently reconfigure a
    /// service: drop every ASP.NET Core and hierarchical (Section__Key) variable we inherit.
    /// </summary>
    private static void RemoveInheritedConfiguration(ProcessStartInfo info)
    {
        foreach (var inherited in info.Environment.Keys.ToList())
        {
            if (inherited.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
                || inherited.StartsWith("HUB_", StringComparison.Ordinal)
                || inherited == "DOTNET_ENVIRONMENT"
                || inherited.Contains("__", StringComparison.Ordinal))
            {
                info.Environment.Remove(inherited);
            }
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Name} (pid {Pid?.ToString(CultureInfo.InvariantCulture) ?? "-"})");
}

/// <summary>How a one-off run of a service's command ended: its exit code, and stdout and stderr together.</summary>
public sealed record ServiceCommandResult(int ExitCode, string Output);

/// <summary>The dotnet host that runs the services.</summary>
internal static class DotnetHost
{
    /// <summary>
    /// The SDK sets DOTNET_HOST_PATH for test hosts and MSBuild; when we run as 'dotnet LocalHub.dll' our own
    /// process is the host; otherwise 'dotnet' from PATH.
    /// </summary>
    public static string Path { get; } =
        System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath) ? hostPath
        : System.IO.Path.GetFileNameWithoutExtension(System.Environment.ProcessPath) == "dotnet" ? System.Environment.ProcessPath!
        : "dotnet";
}
