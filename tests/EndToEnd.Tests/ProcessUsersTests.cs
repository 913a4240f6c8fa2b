using System.Diagnostics;
using System.Globalization;
using FamiljecentralHub.LocalHub;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// No hub process runs as root (issue 11, item 3): each service and the gateway run as their own system user, and each
/// private key can be read by the one process that needs it. What a breached service then holds is its own key and
/// nothing else: not the CA key, not the caller-token signing key, not the ledger's signing key.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProcessUsersTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static bool RunningAsRoot => Environment.UserName == "root";

    [Fact]
    public void EveryProcess_RunsAsItsOwnUser_NeverRoot()
    {
        var processes = hub.Hub.Services.Values.Select(service => (Name: service.Name, service.Pid))
            .Append((Name: "gateway", hub.Hub.Gateway.Pid)).ToList();

        var users = new HashSet<int>();
        foreach (var (name, pid) in processes)
        {
            var ids = UidsOf(pid.ShouldNotBeNull($"{name} is not running"));
            if (!RunningAsRoot)
            {
                ids.ShouldAllBe(id => id == ids[0], $"{name}: a hub started by an unprivileged user runs as that user");
                continue;
            }

            // Real, effective, saved and file-system uid: none may be root, or the process could take root back.
            ids.ShouldAllBe(id => id != 0, $"{name} runs as root");
            ids.ShouldAllBe(id => id == ids[0], $"{name} holds more than one uid");
            UserName(ids[0]).ShouldBe($"hub-{name}");
            users.Add(ids[0]).ShouldBeTrue($"{name} shares its user with another process");
        }
    }

    [Theory]
    [InlineData("gateway.key", "gateway")]
    [InlineData("caller-token.key", "gateway")]
    [InlineData("ledger-signing.key", "consent")]
    [InlineData("ca.key", null)]
    [InlineData("internal/ca.key", null)]
    [InlineData("internal/gateway-hop.key", "gateway")]
    [InlineData("internal/child-health.key", "child-health")]
    [InlineData("internal/consent.key", "consent")]
    public async Task PrivateKey_ReadableOnlyByTheProcessThatNeedsIt(string file, string? owner)
    {
        Assert.SkipUnless(RunningAsRoot, "Only a hub started by root runs its processes as their own users.");
        var path = Path.Combine(hub.Hub.PkiDir, file);

        File.GetUnixFileMode(path).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite, $"{file} must be owner-only");
        foreach (var process in Hub.ServiceNames.Append("gateway"))
        {
            var canRead = await CanReadAsync($"hub-{process}", path);
            canRead.ShouldBe(process == owner, $"hub-{process} {(canRead ? "can" : "cannot")} read {file}");
        }
    }

    [Fact]
    public async Task PublicFiles_ReadableByTheServicesThatCheckWithThem()
    {
        Assert.SkipUnless(RunningAsRoot, "Only a hub started by root runs its processes as their own users.");
        (await CanReadAsync("hub-child-health", Path.Combine(hub.Hub.PkiDir, "caller-token.pub.pem"))).ShouldBeTrue();
        (await CanReadAsync("hub-gateway", hub.Hub.CrlPath)).ShouldBeTrue();
        (await CanReadAsync("hub-gateway", hub.Hub.CaCertificatePath)).ShouldBeTrue();
        (await CanReadAsync("hub-gateway", hub.Hub.InternalCaCertificatePath)).ShouldBeTrue();
        (await CanReadAsync("hub-child-health", hub.Hub.InternalCaCertificatePath)).ShouldBeTrue();
        (await CanReadAsync("hub-child-health", Path.Combine(hub.Hub.PkiDir, "internal", "child-health.pem"))).ShouldBeTrue();
        // The clients' own keys (the tests act as the clients) are no process's.
        (await CanReadAsync("hub-gateway", hub.Hub.ClientKeyPath(hub.Hub.ClientIds[0]))).ShouldBeFalse();
    }

    /// <summary>Real, effective, saved and file-system uid, from the kernel's own account of the process.</summary>
    private static int[] UidsOf(int pid) =>
        File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith("Uid:", StringComparison.Ordinal))
            .Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(id => int.Parse(id, CultureInfo.InvariantCulture)).ToArray();

    private static string UserName(int uid) =>
        File.ReadLines("/etc/passwd").Select(line => line.Split(':')).First(fields => fields[2] == uid.ToString(CultureInfo.InvariantCulture))[0];

    /// <summary>Tries to read the file as <paramref name="user"/>, as a breached process of that user would.</summary>
    private static async Task<bool> CanReadAsync(string user, string path)
    {
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[$"--reuid={user}", $"--regid={user}", "--init-groups", "--", "head", "-c", "1", path])
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        await process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return process.ExitCode == 0;
    }
}
