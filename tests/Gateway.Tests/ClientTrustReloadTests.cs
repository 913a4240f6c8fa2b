using System.Net;
using System.Text.Json;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>A gateway whose client CA bundle and clients file are its own copies, for the tests to rewrite.</summary>
public sealed class ReloadingGatewayFixture : GatewayFixture
{
    public string CaBundlePath => Path.Combine(Folder, "client-ca-bundle.pem");

    public string ClientsPath => Path.Combine(Folder, "clients-reloaded.json");

    public string OriginalCaPath { get; private set; } = null!;

    public string OriginalClientsPath { get; private set; } = null!;

    public void WriteClients(IEnumerable<TestClient> clients) => WriteAtomically(ClientsPath, JsonSerializer.Serialize(new
    {
        clients = clients.Select(client => new { id = client.Id, hsaId = DemoPki.HsaIdOf(client.Id), units = client.Units, routes = client.Routes, operates = client.Operates }),
    }));

    public void WriteCaBundle(params string[] caPaths) => WriteAtomically(CaBundlePath, string.Join("\n", caPaths.Select(File.ReadAllText)));

    /// <summary>As an operator replaces a file: written beside it, then renamed over it, so no reader sees half of it.</summary>
    public static void WriteAtomically(string path, string content)
    {
        var temporary = path + ".new";
        File.WriteAllText(temporary, content);
        File.Move(temporary, path, overwrite: true);
    }

    protected override void Configure(IDictionary<string, string> environment)
    {
        OriginalCaPath = environment["Gateway__ClientCaPath"];
        OriginalClientsPath = environment["Gateway__ClientsPath"];
        File.Copy(OriginalCaPath, CaBundlePath);
        File.Copy(OriginalClientsPath, ClientsPath);
        environment["Gateway__ClientCaPath"] = CaBundlePath;
        environment["Gateway__ClientsPath"] = ClientsPath;
        // The revocation list names one CA; the rotation below brings in a second CA of the same name, whose
        // certificates that list cannot speak for (docs/security.md, "Client identity").
        environment.Remove("Gateway__ClientCrlPath");
    }
}

/// <summary>
/// The client registry and the client CA bundle change while the gateway runs, as a region adds a system, retires one,
/// or moves its clients to a new CA: each change takes effect within seconds, on connections already open too, without a
/// restart; a file that does not load changes nothing.
/// </summary>
public sealed class ClientTrustReloadTests(ReloadingGatewayFixture fixture) : IClassFixture<ReloadingGatewayFixture>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ClientsFile_ChangedWhileRunning_AddsAndRemovesClientsWithoutARestart_AndABrokenOneChangesNothing()
    {
        using var newcomer = fixture.CreateClient(GatewayFixture.UnregisteredClient);
        using var leaver = fixture.CreateClient("forskola-system");
        (await newcomer.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await leaver.GetAsync("/open-preschool/health", Ct)).StatusCode.ShouldNotBe(HttpStatusCode.Forbidden);
        var others = GatewayFixture.Clients.Where(client => client.Id != "forskola-system").ToList();

        try
        {
            fixture.WriteClients([.. others, new TestClient(GatewayFixture.UnregisteredClient, ["solglantan-bvc"], ["child-health"])]);

            await StatusBecomesAsync(newcomer, "/child-health/api/visits", HttpStatusCode.OK, "the newly registered client was not let in");
            await StatusBecomesAsync(leaver, "/open-preschool/health", HttpStatusCode.Forbidden, "the removed client was still let in on its open connection");

            // Half a file, as an editor might leave it: the last good registry stays in force.
            ReloadingGatewayFixture.WriteAtomically(fixture.ClientsPath, """{ "clients": [ { "id": "bvc-ehr", """);
            await Task.Delay(TimeSpan.FromSeconds(2.5), Ct);
            (await newcomer.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
            (await leaver.GetAsync("/open-preschool/health", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            fixture.GatewayOutput.ShouldContain("the last good ones stay in force");
        }
        finally
        {
            File.Copy(fixture.OriginalClientsPath, fixture.ClientsPath, overwrite: true);
        }

        await StatusBecomesAsync(newcomer, "/child-health/api/visits", HttpStatusCode.Forbidden, "the restored file was not read");
    }

    [Fact]
    public async Task CaBundle_ChangedWhileRunning_TrustsTheNewCaAndRetiresTheOldWithoutARestart()
    {
        // Same subject, same HSA id, from another CA: the same system moved to a new CA.
        using var onNewCa = fixture.CreateClient(fixture.ForeignPki.LoadClientCertificate("bvc-ehr"));
        using var onOldCa = fixture.CreateClient("bvc-ehr");
        (await onNewCa.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        // A refused certificate is logged by its reason, never by its subject (a personal one names a person).
        fixture.GatewayOutput.ShouldContain("certificate-not-trusted");
        fixture.GatewayOutput.ShouldNotContain(DemoPki.HsaIdOf("bvc-ehr"));
        fixture.GatewayOutput.ShouldNotContain("CN=");

        try
        {
            fixture.WriteCaBundle(fixture.OriginalCaPath, fixture.ForeignPki.CaCertificatePath);
            await StatusBecomesAsync(onNewCa, "/child-health/api/visits", HttpStatusCode.OK, "a certificate of the added CA was not trusted");
            (await onOldCa.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "both CAs are trusted during the change");

            fixture.WriteCaBundle(fixture.ForeignPki.CaCertificatePath);
            await StatusBecomesAsync(onOldCa, "/child-health/api/visits", HttpStatusCode.Forbidden, "a certificate of the retired CA was still trusted");
            (await onNewCa.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

            // A bundle with no certificate in it changes nothing: the gateway never runs trusting no one by mistake.
            ReloadingGatewayFixture.WriteAtomically(fixture.CaBundlePath, "not a certificate");
            await Task.Delay(TimeSpan.FromSeconds(2.5), Ct);
            (await onNewCa.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        }
        finally
        {
            File.Copy(fixture.OriginalCaPath, fixture.CaBundlePath, overwrite: true);
        }

        await StatusBecomesAsync(onNewCa, "/child-health/api/visits", HttpStatusCode.Forbidden, "the restored bundle was not read");
    }

    private async Task StatusBecomesAsync(HttpClient client, string path, HttpStatusCode expected, string because)
    {
        using var _ = await Eventually.MatchAsync(
            () => client.GetAsync(path, Ct), response => response.StatusCode == expected,
            Within, last => $"{because} ({last?.StatusCode})\n{fixture.GatewayOutput}", cancellationToken: Ct);
    }
}
