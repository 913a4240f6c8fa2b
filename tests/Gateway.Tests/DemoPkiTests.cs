using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class DemoPkiTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void Ensure_EmptyFolder_CreatesCaGatewayClientsAndTokenKeys()
    {
        var pki = DemoPki.Ensure(folder.Path, ["bvc-ehr", "ops-console"]);

        using var ca = X509Certificate2.CreateFromPemFile(pki.CaCertificatePath, pki.CaKeyPath);
        ca.Extensions.OfType<X509BasicConstraintsExtension>().ShouldHaveSingleItem().CertificateAuthority.ShouldBeTrue();

        using var gateway = X509Certificate2.CreateFromPemFile(pki.GatewayCertificatePath, pki.GatewayKeyPath);
        gateway.MatchesHostname("localhost").ShouldBeTrue();
        gateway.MatchesHostname("127.0.0.1").ShouldBeTrue();
        Usages(gateway).ShouldBe(["1.3.6.1.5.5.7.3.1"]);
        ChainsTo(gateway, ca).ShouldBeTrue();

        using var client = X509Certificate2.CreateFromPemFile(pki.ClientCertificatePath("bvc-ehr"), pki.ClientKeyPath("bvc-ehr"));
        client.GetNameInfo(X509NameType.SimpleName, forIssuer: false).ShouldBe("bvc-ehr");
        Usages(client).ShouldBe(["1.3.6.1.5.5.7.3.2"]);
        ChainsTo(client, ca).ShouldBeTrue();

        using var tokenKey = ECDsa.Create();
        tokenKey.ImportFromPem(File.ReadAllText(pki.CallerTokenPrivateKeyPath));
        tokenKey.KeySize.ShouldBe(256);
        File.ReadAllText(pki.CallerTokenPublicKeyPath).ShouldStartWith("-----BEGIN PUBLIC KEY-----");
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Ensure_PrivateKeys_AreReadableByOwnerOnly()
    {
        var pki = DemoPki.Ensure(folder.Path, ["bvc-ehr"]);

        foreach (var key in new[] { pki.CaKeyPath, pki.GatewayKeyPath, pki.ClientKeyPath("bvc-ehr"), pki.ClientPfxPath("bvc-ehr"), pki.CallerTokenPrivateKeyPath })
        {
            File.GetUnixFileMode(key).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite, key);
        }
    }

    [Fact]
    public void Ensure_SecondRun_ReusesEveryFile()
    {
        DemoPki.Ensure(folder.Path, ["bvc-ehr"]);
        var before = Snapshot();

        DemoPki.Ensure(folder.Path, ["bvc-ehr"]);

        Snapshot().ShouldBe(before);
    }

    [Fact]
    public void Ensure_ClientKeyMissing_ReissuesThatClientOnly()
    {
        var pki = DemoPki.Ensure(folder.Path, ["bvc-ehr", "ops-console"]);
        var before = Snapshot();
        File.Delete(pki.ClientKeyPath("bvc-ehr"));

        DemoPki.Ensure(folder.Path, ["bvc-ehr", "ops-console"]);

        var after = Snapshot();
        after[Relative(pki.ClientCertificatePath("bvc-ehr"))].ShouldNotBe(before[Relative(pki.ClientCertificatePath("bvc-ehr"))]);
        after[Relative(pki.ClientCertificatePath("ops-console"))].ShouldBe(before[Relative(pki.ClientCertificatePath("ops-console"))]);
        after[Relative(pki.CaCertificatePath)].ShouldBe(before[Relative(pki.CaCertificatePath)]);
        after[Relative(pki.GatewayCertificatePath)].ShouldBe(before[Relative(pki.GatewayCertificatePath)]);
    }

    [Fact]
    public void Ensure_CaKeyMissing_ReissuesEveryCertificateUnderNewCa()
    {
        var pki = DemoPki.Ensure(folder.Path, ["bvc-ehr"]);
        var before = Snapshot();
        File.Delete(pki.CaKeyPath);

        DemoPki.Ensure(folder.Path, ["bvc-ehr"]);

        var after = Snapshot();
        after[Relative(pki.CaCertificatePath)].ShouldNotBe(before[Relative(pki.CaCertificatePath)]);
        after[Relative(pki.GatewayCertificatePath)].ShouldNotBe(before[Relative(pki.GatewayCertificatePath)]);
        after[Relative(pki.ClientCertificatePath("bvc-ehr"))].ShouldNotBe(before[Relative(pki.ClientCertificatePath("bvc-ehr"))]);
        after[Relative(pki.CallerTokenPrivateKeyPath)].ShouldBe(before[Relative(pki.CallerTokenPrivateKeyPath)]);
    }

    [Fact]
    public void LoadClientCertificate_AfterEnsure_HasUsablePrivateKey()
    {
        var pki = DemoPki.Ensure(folder.Path, ["bvc-ehr"]);
        File.Delete(pki.ClientPfxPath("bvc-ehr"));

        using var fromPem = DemoPki.LoadClientCertificate(folder.Path, "bvc-ehr");
        DemoPki.Ensure(folder.Path, ["bvc-ehr"]);
        using var fromPfx = pki.LoadClientCertificate("bvc-ehr");

        foreach (var certificate in new[] { fromPem, fromPfx })
        {
            certificate.HasPrivateKey.ShouldBeTrue();
            using var key = certificate.GetECDsaPrivateKey().ShouldNotBeNull();
            key.SignData("proof"u8, HashAlgorithmName.SHA256).ShouldNotBeEmpty();
        }
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("CN=x,O=y")]
    public void Ensure_UnsafeClientId_Throws(string clientId)
    {
        Should.Throw<ArgumentException>(() => DemoPki.Ensure(folder.Path, [clientId]));
    }

    private static string[] Usages(X509Certificate2 certificate) =>
        [.. certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(oid => oid.Value!)];

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private string Relative(string path) => Path.GetRelativePath(folder.Path, path);

    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories)
            .ToDictionary(Relative, path => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))));
}
