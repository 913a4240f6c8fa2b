using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.ServiceDefaults.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>
/// The validation side as a service uses it: AddServiceTls and AddCallerAuthentication in a real Kestrel app, reached
/// over TLS with the demo PKI's internal CA, as the gateway reaches a service.
/// </summary>
public sealed class CallerAuthenticationTests : IAsyncLifetime
{
    private readonly TempFolder folder = new();
    private DemoPki pki = null!;
    private X509Certificate2 gatewayHop = null!;
    private WebApplication app = null!;
    private Uri address = null!;
    private HttpClient http = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private string PrivateKeyPath => pki.CallerTokenPrivateKeyPath;

    public async ValueTask InitializeAsync()
    {
        pki = DemoPki.Ensure(folder.Path, ["bvc-ehr"]);
        gatewayHop = pki.LoadInternalCertificate(pki.GatewayHopCertificatePath, pki.GatewayHopKeyPath);

        app = BuildService(pki, pki.CallerTokenPublicKeyPath);
        app.MapGet("/whoami", (ClaimsPrincipal caller) => new { client = caller.ClientId(), units = caller.Units() });
        app.MapGet("/health/live", () => "Healthy").AllowAnonymous();
        await app.StartAsync(Cancellation);

        address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        http = Client(gatewayHop);
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await app.DisposeAsync();
        gatewayHop.Dispose();
        folder.Dispose();
    }

    [Fact]
    public async Task Request_ValidCallerToken_ReachesEndpointAsThatClient()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, Bound().Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        using var response = await http.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        body.RootElement.GetProperty("client").GetString().ShouldBe("bvc-ehr");
        body.RootElement.GetProperty("units")[0].GetString().ShouldBe("rosengard-bvc");
    }

    [Fact]
    public async Task Request_WithoutCallerToken_Returns401Problem()
    {
        using var response = await http.GetAsync("/whoami", Cancellation);

        await ShouldBe401ProblemAsync(response, "no-caller-token");
    }

    [Fact]
    public async Task Request_TokenInAuthorizationHeaderInstead_Returns401Problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Bound().Issue("bvc-ehr", [], "child-health"));

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "no-caller-token");
    }

    [Fact]
    public async Task Request_TokenForAnotherService_Returns401Problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, Bound().Issue("bvc-ehr", ["rosengard-bvc"], "consent"));

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "caller-token-invalid");
    }

    [Fact]
    public async Task Request_TwoCallerTokens_Returns401Problem()
    {
        var issuer = Bound();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, [issuer.Issue("bvc-ehr", [], "child-health"), issuer.Issue("mvc-ehr", [], "child-health")]);

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "caller-token-invalid");
    }

    [Fact]
    public async Task Request_TokenWithoutCnf_WithTheGatewaysCertificate_Returns401Problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, new CallerTokenIssuer(PrivateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "caller-token-not-bound");
    }

    [Fact]
    public async Task Request_BoundToken_OverTlsWithoutClientCertificate_Returns401Problem()
    {
        using var bare = Client(certificate: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, Bound().Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        using var response = await bare.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "no-hop-certificate");
    }

    [Fact]
    public async Task Request_BoundToken_WithAServicesServerCertificate_Returns401Problem()
    {
        using var service = pki.LoadInternalCertificate(pki.ServiceCertificatePath("consent"), pki.ServiceKeyPath("consent"));
        using var other = Client(service);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, Bound().Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        using var response = await other.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "no-hop-certificate");
    }

    [Fact]
    public async Task Request_BoundToken_WithAnotherClientCertificateOfTheInternalCa_Returns401Problem()
    {
        using var another = IssueInternalClientCertificate("another-hop");
        using var other = Client(another);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, Bound().Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        using var response = await other.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "caller-token-not-bound");
    }

    [Fact]
    public async Task Request_TokenBoundToAClientSystemsCertificate_PresentedWithIt_Returns401Problem()
    {
        // The client CA's certificates open the gateway, never a service: the internal CA is the only root here.
        using var clientSystem = pki.LoadClientCertificate("bvc-ehr");
        using var other = Client(clientSystem);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, new CallerTokenIssuer(PrivateKeyPath, clientSystem).Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        using var response = await other.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response, "no-hop-certificate");
    }

    [Fact]
    public async Task Request_OverPlainHttp_IsNotServed()
    {
        using var plain = new HttpClient { BaseAddress = new UriBuilder(address) { Scheme = Uri.UriSchemeHttp }.Uri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, Bound().Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

        // Kestrel answers plain HTTP on a TLS port with 400 (or closes): the request never reaches authentication.
        try
        {
            using var response = await plain.SendAsync(request, Cancellation);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }
        catch (HttpRequestException)
        {
        }
    }

    [Fact]
    public async Task Request_AnonymousEndpointWithoutClientCertificate_Succeeds()
    {
        using var bare = Client(certificate: null);

        using var response = await bare.GetAsync("/health/live", Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Start_PublicKeyPathMissing_FailsValidation()
    {
        await using var broken = BuildService(pki, Path.Combine(folder.Path, "missing.pem"));

        await Should.ThrowAsync<OptionsValidationException>(() => broken.StartAsync(Cancellation));
    }

    [Fact]
    public async Task Start_WithoutServerCertificate_DoesNotListen()
    {
        var failure = await Should.ThrowAsync<InvalidOperationException>(() =>
            StartAsync(() => BuildService(pki, pki.CallerTokenPublicKeyPath, certificatePath: Path.Combine(folder.Path, "missing.pem"))));
        failure.Message.ShouldContain("Tls:CertificatePath");
    }

    [Fact]
    public async Task Start_PlainHttpUrl_DoesNotListen()
    {
        var failure = await Should.ThrowAsync<InvalidOperationException>(() =>
            StartAsync(() => BuildService(pki, pki.CallerTokenPublicKeyPath, urls: "http://127.0.0.1:0")));
        failure.Message.ShouldContain("HTTPS only");
    }

    // Kestrel is made (and its settings read) while the app is built: a service without its certificate stops there.
    private static async Task StartAsync(Func<WebApplication> build)
    {
        await using var app = build();
        await app.StartAsync(Cancellation);
    }

    private CallerTokenIssuer Bound() => new(PrivateKeyPath, gatewayHop);

    private HttpClient Client(X509Certificate2? certificate) =>
        new(InternalTls.CreateHandler(InternalTls.LoadAuthorities(pki.InternalCaCertificatePath), certificate)) { BaseAddress = address };

    private X509Certificate2 IssueInternalClientCertificate(string commonName)
    {
        using var ca = X509Certificate2.CreateFromPemFile(pki.InternalCaCertificatePath, pki.InternalCaKeyPath);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(InternalTls.ClientAuthenticationOid)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(ca, new DateTimeOffset(ca.NotBefore), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    private static WebApplication BuildService(DemoPki pki, string publicKeyPath, string? certificatePath = null, string urls = "https://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["CallerToken:PublicKeyPath"] = publicKeyPath;
        builder.Configuration["Tls:CertificatePath"] = certificatePath ?? pki.ServiceCertificatePath("child-health");
        builder.Configuration["Tls:KeyPath"] = pki.ServiceKeyPath("child-health");
        builder.Configuration["Tls:ClientCaPath"] = pki.InternalCaCertificatePath;
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseUrls(urls);
        builder.AddServiceTls();
        builder.AddCallerAuthentication("child-health");
        return builder.Build();
    }

    private static async Task ShouldBe401ProblemAsync(HttpResponseMessage response, string reason)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        response.Headers.GetValues(AccessRefusals.ReasonHeader).ShouldBe([reason]);
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        body.ShouldNotContain("Exception");
        body.ShouldNotContain("IDX");
    }
}
