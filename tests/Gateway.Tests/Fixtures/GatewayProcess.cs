using System.Diagnostics;
using System.Text;

namespace FamiljecentralHub.Gateway.Tests.Fixtures;

/// <summary>
/// The real gateway, started as a child process from its build output and configured only through environment
/// variables: the same entry point, configuration path and Kestrel/TLS stack the orchestrator uses, with nothing
/// replaced by test doubles. (In-process hosting would share the test's TLS and logging state, and
/// WebApplicationFactory's TestServer has no TLS at all.)
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private const string GatewayAssembly = "FamiljecentralHub.Gateway.dll";

    private readonly Process process;
    private readonly StringBuilder output = new();

    private GatewayProcess(Process process) => this.process = process;

    /// <summary>Everything the gateway wrote, to explain a failed start or test.</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static async Task<GatewayProcess> StartAsync(
        IReadOnlyDictionary<string, string> environment, Uri healthUrl, CancellationToken cancellationToken)
    {
        var gatewayDll = Path.Combine(AppContext.BaseDirectory, GatewayAssembly);
        var start = new ProcessStartInfo(DotnetHost())
        {
            ArgumentList = { "exec", gatewayDll },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Inherited URL settings would only earn an "overriding addresses" warning; keep the run deterministic.
        foreach (var inherited in new[] { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS" })
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var gateway = new GatewayProcess(Process.Start(start) ?? throw new InvalidOperationException("The gateway did not start."));
        gateway.process.OutputDataReceived += (_, line) => gateway.Append(line.Data);
        gateway.process.ErrorDataReceived += (_, line) => gateway.Append(line.Data);
        gateway.process.BeginOutputReadLine();
        gateway.process.BeginErrorReadLine();

        try
        {
            await gateway.WaitUntilReadyAsync(healthUrl, cancellationToken);
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }

        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        process.Dispose();
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private async Task WaitUntilReadyAsync(Uri healthUrl, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The gateway exited with code {process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(healthUrl, "/health/ready"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening but slow to answer during start-up.
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"The gateway was not ready within 30 s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
