using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>
/// A client whose certificate its CA revokes is refused at once: on the connection it already has open (the gateway
/// checks every request, not only the handshake), and on a new one.
/// </summary>
public sealed class RevocationTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Request_AfterTheCaRevokesTheClient_IsRefusedOnItsOpenConnectionAndOnANewOne()
    {
        using var client = fixture.CreateClient(GatewayFixture.RevokedClient);
        (await client.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);

        fixture.Pki.Revoke(GatewayFixture.RevokedClient);

        // The gateway looks at the list at most once a second.
        using var refused = await Eventually.MatchAsync(
            () => client.GetAsync("/child-health/api/visits", Ct), response => response.StatusCode == HttpStatusCode.Forbidden,
            TimeSpan.FromSeconds(10), last => $"the revoked client was still let through on its open connection ({last?.StatusCode})", cancellationToken: Ct);
        (await refused.Content.ReadAsStringAsync(Ct)).ShouldNotContain(GatewayFixture.RevokedClient);
        using var fresh = fixture.CreateClient(GatewayFixture.RevokedClient);
        try
        {
            (await fresh.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
        catch (HttpRequestException)
        {
            // Refused at the handshake: what a new connection should get.
        }

        using var other = fixture.CreateClient("bvc-ehr");
        (await other.GetAsync("/child-health/api/visits", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, "only the revoked client is refused");
    }
}

/// <summary>The list itself: only the CA's signature makes it a list, and one past its next update says nothing.</summary>
public sealed class RevocationListTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void Read_TheCasList_NamesTheRevokedSerials()
    {
        var pki = DemoPki.Ensure(folder.Path, ["a", "b"]);
        pki.Revoke("a");
        using var a = X509CertificateLoader.LoadCertificateFromFile(pki.ClientCertificatePath("a"));
        using var b = X509CertificateLoader.LoadCertificateFromFile(pki.ClientCertificatePath("b"));

        var revocations = Revocations(pki.CrlPath, pki);

        revocations.Check(a).ShouldBe(RevocationStatus.Revoked);
        revocations.Check(b).ShouldBe(RevocationStatus.Good);
    }

    [Fact]
    public void Read_AListSignedByAnotherCa_IsUnknown()
    {
        var pki = DemoPki.Ensure(Path.Combine(folder.Path, "ours"), ["a"]);
        var other = DemoPki.Ensure(Path.Combine(folder.Path, "theirs"), ["a"]);
        using var a = X509CertificateLoader.LoadCertificateFromFile(pki.ClientCertificatePath("a"));

        Revocations(other.CrlPath, pki).Check(a).ShouldBe(RevocationStatus.Unknown);
    }

    [Fact]
    public void Read_AListWithAnEntryRemovedAfterSigning_IsUnknown()
    {
        var pki = DemoPki.Ensure(folder.Path, ["a"]);
        pki.Revoke("a");
        using var a = X509CertificateLoader.LoadCertificateFromFile(pki.ClientCertificatePath("a"));
        var builder = CertificateRevocationListBuilder.LoadPem(File.ReadAllText(pki.CrlPath), out var number);
        builder.RemoveEntry(a.SerialNumberBytes.Span).ShouldBeTrue();
        // Signed again with a key that is not the CA's, under the CA's name.
        using var forgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = X509CertificateLoader.LoadCertificateFromFile(pki.CaCertificatePath);
        var forger = new CertificateRequest(ca.SubjectName, forgerKey, HashAlgorithmName.SHA256);
        forger.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        forger.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.KeyCertSign, true));
        forger.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(forger.PublicKey, false));
        using var forgerCa = forger.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var forged = builder.Build(forgerCa, number + 1, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256);
        var path = Path.Combine(folder.Path, "forged.crl");
        File.WriteAllBytes(path, forged);

        Revocations(path, pki).Check(a).ShouldBe(RevocationStatus.Unknown);
    }

    [Fact]
    public void Check_PastTheListsNextUpdate_IsUnknown()
    {
        var pki = DemoPki.Ensure(folder.Path, ["a"]);
        using var a = X509CertificateLoader.LoadCertificateFromFile(pki.ClientCertificatePath("a"));

        Revocations(pki.CrlPath, pki, new FixedTimeProvider(DateTimeOffset.UtcNow.AddDays(8))).Check(a).ShouldBe(RevocationStatus.Unknown);
        Revocations(Path.Combine(folder.Path, "missing.crl"), pki).Check(a).ShouldBe(RevocationStatus.Unknown);
    }

    /// <summary>
    /// A gateway just started takes a burst of requests at once (a client's pool of connections): every one of them must
    /// wait for the list the first one is reading, not find "nothing known yet" and be refused.
    /// </summary>
    [Fact]
    public async Task Check_ManyAtOnceBeforeTheListWasRead_AllWaitForIt()
    {
        var pki = DemoPki.Ensure(folder.Path, ["a"]);
        using var a = X509CertificateLoader.LoadCertificateFromFile(pki.ClientCertificatePath("a"));
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var revocations = Revocations(pki.CrlPath, pki);
            using var start = new Barrier(8);
            var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait(TestContext.Current.CancellationToken);
                return revocations.Check(a);
            }, TestContext.Current.CancellationToken)));

            statuses.ShouldAllBe(status => status == RevocationStatus.Good, $"attempt {attempt}");
        }
    }

    private static ClientRevocations Revocations(string crlPath, DemoPki pki, TimeProvider? clock = null)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(pki.CaCertificatePath);
        return new ClientRevocations(crlPath, () => authorities, clock ?? TimeProvider.System);
    }
}
