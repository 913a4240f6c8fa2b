using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.ServiceDefaults.Security;
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

/// <summary>The validation side as a service uses it: AddCallerAuthentication in a real Kestrel app.</summary>
public sealed class CallerAuthenticationTests : IAsyncLifetime
{
    private readonly TempFolder folder = new();
    private string privateKeyPath = null!;
    private WebApplication app = null!;
    private HttpClient http = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        privateKeyPath = Path.Combine(folder.Path, "caller-token.key");
        var publicKeyPath = Path.Combine(folder.Path, "caller-token.pub.pem");
        await File.WriteAllTextAsync(privateKeyPath, key.ExportPkcs8PrivateKeyPem(), Cancellation);
        await File.WriteAllTextAsync(publicKeyPath, key.ExportSubjectPublicKeyInfoPem(), Cancellation);

        app = BuildService(publicKeyPath);
        app.MapGet("/whoami", (ClaimsPrincipal caller) => new { client = caller.ClientId(), units = caller.Units() });
        app.MapGet("/health/live", () => "Healthy").AllowAnonymous();
        await app.StartAsync(Cancellation);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await app.DisposeAsync();
        folder.Dispose();
    }

    [Fact]
    public async Task Request_ValidCallerToken_ReachesEndpointAsThatClient()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));

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

        await ShouldBe401ProblemAsync(response);
    }

    [Fact]
    public async Task Request_TokenForAnotherService_Returns401Problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "consent"));

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response);
    }

    [Fact]
    public async Task Request_TwoCallerTokens_Returns401Problem()
    {
        var issuer = new CallerTokenIssuer(privateKeyPath);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add(CallerTokenDefaults.HeaderName, [issuer.Issue("bvc-ehr", [], "child-health"), issuer.Issue("mvc-ehr", [], "child-health")]);

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBe401ProblemAsync(response);
    }

    [Fact]
    public async Task Request_AnonymousEndpointWithoutToken_Succeeds()
    {
        using var response = await http.GetAsync("/health/live", Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Start_PublicKeyPathMissing_FailsValidation()
    {
        await using var broken = BuildService(Path.Combine(folder.Path, "missing.pem"));

        await Should.ThrowAsync<OptionsValidationException>(() => broken.StartAsync(Cancellation));
    }

    private static WebApplication BuildService(string publicKeyPath)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["CallerToken:PublicKeyPath"] = publicKeyPath;
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.AddCallerAuthentication("child-health");
        return builder.Build();
    }

    private static async Task ShouldBe401ProblemAsync(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        body.ShouldNotContain("Exception");
        body.ShouldNotContain("IDX");
    }
}
