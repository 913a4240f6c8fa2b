using System.Net;
using System.Net.Http.Json;
using System.Runtime.Versioning;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The running gate anchors its ledger (issue 11, item 5): it signs checkpoints of the head into the directory LocalHub
/// gives it, with a key only it is given, and <c>verify-ledger</c> checks the chain against them. The tampering cases run
/// against a real PostgreSQL in Consent.Tests' LedgerAnchoringTests, where the ledger may be broken on purpose.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class LedgerAnchoringTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gate_AfterAConsentIsRecorded_CheckpointsTheHeadAndVerifyLedgerChecksAgainstIt()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        var head = await Eventually.MatchAsync(
            () => connection.ExecuteScalarAsync<long>("SELECT coalesce(max(seq), 0) FROM ledger WHERE kind LIKE 'consent-%'"),
            seq => seq > 0, TimeSpan.FromSeconds(30), _ => "the consent never reached the ledger", cancellationToken: Ct);

        // The hub's cadence is 10 s: a checkpoint at or beyond the consent's entry follows within it.
        var checkpoints = Path.Combine(hub.Hub.LedgerCheckpointDir, "checkpoints.jsonl");
        await Eventually.MatchAsync(
            () => Task.FromResult(File.Exists(checkpoints) ? File.ReadAllLines(checkpoints) : []),
            lines => lines.Any(line => JsonDocument.Parse(line).RootElement.GetProperty("seq").GetInt64() >= head),
            TimeSpan.FromSeconds(30), _ => $"no checkpoint reached seq {head}", cancellationToken: Ct);

        var verified = await hub.Hub.Services["consent"].RunCommandAsync(["verify-ledger"], TimeSpan.FromMinutes(2), Ct);

        verified.ExitCode.ShouldBe(0, verified.Output);
        verified.Output.ShouldContain("signed checkpoint(s)");
        verified.Output.ShouldContain("every checkpoint matches");
        verified.Output.ShouldNotContain(subject, customMessage: "seq numbers and hashes only");
        File.ReadAllText(checkpoints).ShouldNotContain(subject, customMessage: "seq numbers and hashes only");
    }

    [Fact]
    public void SigningKey_IsOwnerOnlyAndGivenToTheConsentServiceAlone()
    {
        var privateKey = Path.Combine(hub.Hub.PkiDir, "ledger-signing.key");

        File.GetUnixFileMode(privateKey).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        foreach (var (name, service) in hub.Hub.Services)
        {
            var given = service.Environment.Values.Any(value => value == privateKey);
            given.ShouldBe(name == "consent", $"{name} is given the ledger-signing key: {given}");
        }

        hub.Hub.Gateway.Environment.Values.ShouldNotContain(privateKey);
        hub.Hub.Services["consent"].Environment["Ledger__VerificationKeyPaths__0"].ShouldBe(Path.Combine(hub.Hub.PkiDir, "ledger-signing.pub.pem"));
    }
}
