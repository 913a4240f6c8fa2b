using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.Gateway.Proxy;
using FamiljecentralHub.Gateway.Tests.Fixtures;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class ClientRegistryTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void Load_DemoClientsFile_MapsEveryClientByCertificateName()
    {
        var registry = ClientRegistry.Load(Path.Combine(RepositoryRoot(), "deploy", "demo", "clients.json"));

        registry.Count.ShouldBeGreaterThan(0);
        using var certificate = SelfSigned("CN=bvc-ehr");
        registry.TryFind(certificate, out var client).ShouldBeTrue();
        client.Id.ShouldBe("bvc-ehr");
        client.MayUse("child-health").ShouldBeTrue();
        client.MayUse("maternity-care").ShouldBeFalse();
    }

    [Theory]
    [InlineData("CN=unknown-system")]
    [InlineData("O=bvc-ehr")]
    [InlineData("CN=bvc-ehr, CN=mvc-ehr")]
    public void TryFind_NoSingleRegisteredCommonName_FindsNothing(string subject)
    {
        var registry = Load("""{ "clients": [ { "id": "bvc-ehr", "units": [], "routes": ["consent"] }, { "id": "mvc-ehr", "routes": [] } ] }""");
        using var certificate = SelfSigned(subject);

        registry.TryFind(certificate, out _).ShouldBeFalse();
    }

    [Fact]
    public void Load_UnknownRoute_Throws()
    {
        Should.Throw<InvalidOperationException>(() => Load("""{ "clients": [ { "id": "x", "routes": ["payroll"] } ] }"""));
    }

    [Fact]
    public void Load_DuplicateCertificateName_Throws()
    {
        Should.Throw<InvalidOperationException>(() => Load(
            """{ "clients": [ { "id": "a", "certificateName": "same" }, { "id": "b", "certificateName": "same" } ] }"""));
    }

    [Theory]
    [InlineData("X-Hub-Caller", true)]
    [InlineData("x-hub-anything", true)]
    [InlineData("Authorization", true)]
    [InlineData("Forwarded", true)]
    [InlineData("X-Forwarded-For", true)]
    [InlineData("x-forwarded-host", true)]
    [InlineData("traceparent", false)]
    [InlineData("tracestate", false)]
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
        return ClientRegistry.Load(path);
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(5));
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
