using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.Gateway.Proxy;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class ClientRegistryTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    private static readonly X500DistinguishedName DemoCa = new("CN=FamiljecentralHub Demo CA, O=FamiljecentralHub demo");

    [Fact]
    public void Load_DemoClientsFile_MapsEveryClientByItsHsaIdUnderTheCa()
    {
        var registry = ClientRegistry.Load(Path.Combine(RepositoryRoot(), "deploy", "demo", "clients.json"), DemoCa);

        registry.Count.ShouldBeGreaterThan(0);
        using var certificate = Issued(DemoCa, $"SERIALNUMBER={DemoPki.HsaIdOf("bvc-ehr")}, CN=bvc-ehr");
        registry.TryFind(certificate, out var client).ShouldBeTrue();
        client.Id.ShouldBe("bvc-ehr");
        client.MayUse("child-health").ShouldBeTrue();
        client.MayUse("maternity-care").ShouldBeFalse();
    }

    /// <summary>The demo file registers every client under the HSA id the demo CA issues it.</summary>
    [Fact]
    public void Load_DemoClientsFile_EveryHsaIdIsTheOneDemoPkiIssues()
    {
        var registry = ClientRegistry.Load(Path.Combine(RepositoryRoot(), "deploy", "demo", "clients.json"), DemoCa);
        using var file = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "demo", "clients.json")));
        foreach (var id in file.RootElement.GetProperty("clients").EnumerateArray().Select(c => c.GetProperty("id").GetString()!))
        {
            using var certificate = Issued(DemoCa, $"SERIALNUMBER={DemoPki.HsaIdOf(id)}, CN={id}");
            registry.TryFind(certificate, out var client).ShouldBeTrue(id);
            client.Id.ShouldBe(id);
        }
    }

    [Theory]
    [InlineData("CN=bvc-ehr")] // the common name alone is no identity
    [InlineData("SERIALNUMBER=SE2321000016-UNKNOWN, CN=bvc-ehr")]
    [InlineData("O=SE2321000016-BVCEHR")]
    [InlineData("SERIALNUMBER=SE2321000016-BVCEHR, SERIALNUMBER=SE2321000016-MVCEHR")]
    public void TryFind_NoSingleRegisteredHsaId_FindsNothing(string subject)
    {
        var registry = Load("""{ "clients": [ { "id": "bvc-ehr", "hsaId": "SE2321000016-BVCEHR", "units": [], "routes": ["consent"] }, { "id": "mvc-ehr", "hsaId": "SE2321000016-MVCEHR", "routes": [] } ] }""");
        using var certificate = Issued(DemoCa, subject);

        registry.TryFind(certificate, out _).ShouldBeFalse();
    }

    /// <summary>Another trusted CA may issue the same serialNumber: it is another system unless registered under that issuer.</summary>
    [Fact]
    public void TryFind_TheHsaIdUnderAnotherIssuer_FindsNothingUnlessRegisteredSo()
    {
        var other = new X500DistinguishedName("CN=SITHS e-id Function CA v1, O=Inera AB, C=SE");
        var registry = Load("""{ "clients": [ { "id": "bvc-ehr", "hsaId": "SE2321000016-BVCEHR" }, { "id": "bvc-ehr-siths", "hsaId": "SE2321000016-BVCEHR", "issuer": "CN=SITHS e-id Function CA v1, O=Inera AB, C=SE" } ] }""");
        using var fromDemo = Issued(DemoCa, "SERIALNUMBER=SE2321000016-BVCEHR, CN=bvc-ehr");
        using var fromOther = Issued(other, "SERIALNUMBER=SE2321000016-BVCEHR, CN=bvc-ehr");
        using var fromThird = Issued(new X500DistinguishedName("CN=Some CA"), "SERIALNUMBER=SE2321000016-BVCEHR, CN=bvc-ehr");

        registry.TryFind(fromDemo, out var demo).ShouldBeTrue();
        demo.Id.ShouldBe("bvc-ehr");
        registry.TryFind(fromOther, out var siths).ShouldBeTrue();
        siths.Id.ShouldBe("bvc-ehr-siths");
        registry.TryFind(fromThird, out _).ShouldBeFalse();
    }

    [Theory]
    [InlineData("""{ "clients": [ { "id": "x", "hsaId": "SE2321000016-X", "routes": ["payroll"] } ] }""")] // unknown route
    [InlineData("""{ "clients": [ { "id": "x", "routes": [] } ] }""")] // no HSA id
    [InlineData("""{ "clients": [ { "id": "x", "hsaId": "bvc-ehr" } ] }""")] // not an HSA id
    [InlineData("""{ "clients": [ { "id": "a", "hsaId": "SE2321000016-SAME" }, { "id": "b", "hsaId": "SE2321000016-SAME" } ] }""")] // one system twice
    [InlineData("""{ "clients": [ { "id": "a", "hsaId": "SE2321000016-A" }, { "id": "a", "hsaId": "SE2321000016-B" } ] }""")] // one id twice
    [InlineData("""{ "clients": [ { "id": "x", "hsaId": "SE2321000016-X", "duties": ["log-extract", "read-everything"] } ] }""")] // unknown duty
    [InlineData("""{ "clients": [ { "id": "förskola system", "hsaId": "SE2321000016-X" } ] }""")] // an id the ledger would not take as the acting system
    [InlineData("""{ "clients": [ { "id": "x", "hsaId": "SE2321000016-X", "routes": ["ops"] } ] }""")] // an operator of no one: unscoped by accident
    [InlineData("""{ "clients": [ { "id": "x", "hsaId": "SE2321000016-X", "routes": ["consent"], "operates": "hub" } ] }""")] // a scope on no console
    [InlineData("""{ "clients": [ { "id": "x", "hsaId": "SE2321000016-X", "routes": ["ops"], "operates": "Region Skåne" } ] }""")] // no principal id
    public void Load_AnEntryThatIdentifiesNoSingleSystem_Throws(string json) =>
        Should.Throw<InvalidOperationException>(() => Load(json));

    [Fact]
    public void Load_DemoClientsFile_OnlyTheLogReviewClientHoldsDuties()
    {
        var registry = ClientRegistry.Load(Path.Combine(RepositoryRoot(), "deploy", "demo", "clients.json"), DemoCa);
        using var reviewer = Issued(DemoCa, $"SERIALNUMBER={DemoPki.HsaIdOf("region-loggranskning")}, CN=region-loggranskning");
        using var ehr = Issued(DemoCa, $"SERIALNUMBER={DemoPki.HsaIdOf("bvc-ehr")}, CN=bvc-ehr");

        registry.TryFind(reviewer, out var staff).ShouldBeTrue();
        staff.Duties.ShouldBe(["log-extract", "disclosure-review", "log-follow-up"]);
        registry.TryFind(ehr, out var system).ShouldBeTrue();
        (system.Duties ?? []).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("X-Hub-Caller", true)]
    [InlineData("x-hub-anything", true)]
    [InlineData("Authorization", true)]
    [InlineData("Forwarded", true)]
    [InlineData("X-Forwarded-For", true)]
    [InlineData("x-forwarded-host", true)]
    [InlineData("baggage", true)]
    [InlineData("Correlation-Context", true)]
    [InlineData("traceparent", false)]
    [InlineData("tracestate", true)]
    [InlineData("Content-Type", false)]
    [InlineData("X-Hubble", false)]
    public void IsStripped_Header_MatchesPolicy(string header, bool stripped)
    {
        InternalHeaders.IsStripped(header).ShouldBe(stripped);
    }

    private ClientRegistry Load(string json)
    {
        var path = Path.Combine(folder.Path, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return ClientRegistry.Load(path, DemoCa);
    }

    /// <summary>A certificate of <paramref name="subject"/> under <paramref name="issuer"/>'s name (registry look-ups read names only).</summary>
    private static X509Certificate2 Issued(X500DistinguishedName issuer, string subject)
    {
        using var issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuerRequest = new CertificateRequest(issuer, issuerKey, HashAlgorithmName.SHA256);
        issuerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = issuerRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName(subject), key, HashAlgorithmName.SHA256);
        return request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), RandomNumberGenerator.GetBytes(16));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "global.json")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Repository root not found.");
    }
}
