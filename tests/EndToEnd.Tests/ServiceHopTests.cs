using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.ServiceDefaults.Tls;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Gateway → service is authenticated per hop (issue 11, item 1): a caller token, however it was obtained, is worth
/// nothing on a service's port without the gateway's hop certificate on that very connection. Each replay below carries
/// a token exactly as the gateway issues it (its key, bound to its hop certificate) to the child health service's port.
/// </summary>
public sealed class ServiceHopTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string ReferralPath => $"/units/{DemoRequests.ChildHealthUnit}/referrals";

    [Fact]
    public async Task Token_ReplayedOverPlainHttp_IsRefusedAtTheConnection()
    {
        var plain = new UriBuilder(hub.Hub.ServiceUrl("child-health")) { Scheme = Uri.UriSchemeHttp }.Uri;
        using var direct = new HttpClient { BaseAddress = plain };
        using var request = Referral(GatewayToken());

        // Nothing speaks plain HTTP on a service port any more: Kestrel refuses it before any handler, with a bare 400
        // or a closed connection, never an answer from the API.
        try
        {
            using var response = await direct.SendAsync(request, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            response.Headers.Contains(AccessRefusals.ReasonHeader).ShouldBeFalse("refused by the server, not by the API");
        }
        catch (HttpRequestException)
        {
        }
    }

    [Fact]
    public async Task Token_ReplayedOverTlsWithoutClientCertificate_Is401RefusalWithoutReachingTheApi()
    {
        using var direct = hub.Direct("child-health");

        using var response = await direct.SendAsync(Referral(GatewayToken()), Ct);

        await ShouldBeRefusedAsync(response, "no-hop-certificate");
    }

    [Fact]
    public async Task Token_ReplayedWithAServicesCertificate_Is401Refusal()
    {
        // What a breached service holds: its own certificate from the internal CA, issued for serving, not for calling.
        using var consent = hub.Pki.LoadInternalCertificate(hub.Pki.ServiceCertificatePath("consent"), hub.Pki.ServiceKeyPath("consent"));
        using var direct = hub.Direct("child-health", consent);

        using var response = await direct.SendAsync(Referral(GatewayToken()), Ct);

        await ShouldBeRefusedAsync(response, "no-hop-certificate");
    }

    [Fact]
    public async Task Token_ReplayedWithAnotherClientCertificateOfTheInternalCa_Is401Refusal()
    {
        // Even a certificate the internal CA issued for client use is not the one the token names.
        using var another = IssueInternalClientCertificate("not-the-gateway");
        using var direct = hub.Direct("child-health", another);

        using var response = await direct.SendAsync(Referral(GatewayToken()), Ct);

        await ShouldBeRefusedAsync(response, "caller-token-not-bound");
    }

    [Fact]
    public async Task TokenWithoutCnf_WithTheGatewaysCertificate_Is401Refusal()
    {
        using var hop = hub.GatewayHopCertificate();
        using var direct = hub.Direct("child-health", hop);
        var unbound = new CallerTokenIssuer(hub.Pki.CallerTokenPrivateKeyPath)
            .Issue(DemoRequests.ChildHealthClient, [DemoRequests.ChildHealthUnit], "child-health");

        using var response = await direct.SendAsync(Referral(unbound), Ct);

        await ShouldBeRefusedAsync(response, "caller-token-not-bound");
    }

    [Fact]
    public async Task Referral_ThroughTheGateway_StillAcceptedAndItsStatusAnswers()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);

        var response = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(HubFixture.NewSubject()), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var status = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("statusUrl").GetString()!;
        // Any answer from the status view is the gateway → service hop working in both directions (the gate's verdict
        // on a subject without consent is the flow tests' business).
        (await bvc.GetAsync(status, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private string GatewayToken() =>
        hub.GatewayTokens().Issue(DemoRequests.ChildHealthClient, [DemoRequests.ChildHealthUnit], "child-health");

    private static HttpRequestMessage Referral(string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, ReferralPath)
        {
            Content = JsonContent.Create(DemoRequests.Referral(HubFixture.NewSubject())),
        };
        request.Headers.Add(CallerTokenDefaults.HeaderName, token);
        return request;
    }

    private static async Task ShouldBeRefusedAsync(HttpResponseMessage response, string reason)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        // Marked as an access refusal, as a refusal through the gateway is (there the gateway removes the header).
        response.Headers.GetValues(AccessRefusals.ReasonHeader).ShouldBe([reason]);
        (await response.Content.ReadAsStringAsync(Ct)).ShouldNotContain("IDX");
    }

    private X509Certificate2 IssueInternalClientCertificate(string commonName)
    {
        using var ca = X509Certificate2.CreateFromPemFile(hub.Pki.InternalCaCertificatePath, hub.Pki.InternalCaKeyPath);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(InternalTls.ClientAuthenticationOid)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(ca, new DateTimeOffset(ca.NotBefore), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }
}
