using System.Diagnostics;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// The systemd units for sites that run virtual machines without Kubernetes (deploy/systemd, issue 15 item 6): each one
/// passes <c>systemd-analyze verify</c> without a warning, runs as its own user with the hardening every unit keeps, and
/// the target and the users name every process of the catalogue, so a service added later cannot be left out.
/// </summary>
public sealed class SystemdUnitsTests
{
    private static readonly string UnitDirectory = Path.Combine(RepositoryLayout.Locate().Root, "deploy", "systemd");

    public static TheoryData<string> Units() =>
    [
        "familjecentralhub.target",
        "familjecentralhub-gateway.service",
        .. Catalogue.Names.Select(name => $"familjecentralhub@{name}.service"),
        .. Catalogue.Names.Select(name => $"familjecentralhub-migrate@{name}.service"),
    ];

    [Theory]
    [MemberData(nameof(Units))]
    public async Task Unit_PassesSystemdAnalyzeVerify_WithoutAWarning(string unit)
    {
        var info = new ProcessStartInfo("systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["verify", "--man=no", unit])
        {
            info.ArgumentList.Add(argument);
        }

        // The trailing colon keeps the built-in search path after ours, for the units ours refer to (network-online.target).
        info.Environment["SYSTEMD_UNIT_PATH"] = UnitDirectory + ":";
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken)
            + await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        process.ExitCode.ShouldBe(0, output);
        output.Trim().ShouldBeEmpty();
    }

    [Theory]
    [InlineData("familjecentralhub@.service")]
    [InlineData("familjecentralhub-migrate@.service")]
    [InlineData("familjecentralhub-gateway.service")]
    public void Service_RunsAsItsOwnUser_WithTheHardeningEveryUnitKeeps(string file)
    {
        var lines = File.ReadAllLines(Path.Combine(UnitDirectory, file)).Select(line => line.Trim()).ToHashSet();

        lines.ShouldContain(line => line.StartsWith("User=hub-", StringComparison.Ordinal));
        lines.ShouldNotContain(line => line.StartsWith("User=root", StringComparison.Ordinal));
        foreach (var setting in (string[])["NoNewPrivileges=yes", "CapabilityBoundingSet=", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "UMask=0077"])
        {
            lines.ShouldContain(setting, file);
        }
    }

    [Fact]
    public void TargetAndUsers_NameEveryProcessOfTheCatalogue()
    {
        var target = File.ReadAllText(Path.Combine(UnitDirectory, "familjecentralhub.target"));
        var users = File.ReadAllText(Path.Combine(UnitDirectory, "familjecentralhub.sysusers"));

        target.ShouldContain("familjecentralhub-gateway.service");
        users.ShouldContain("u hub-gateway ");
        foreach (var name in Catalogue.Names)
        {
            target.ShouldContain($"familjecentralhub@{name}.service");
            users.ShouldContain($"u hub-{name} ");
        }
    }
}
