using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>Through the real gateway process, over real TLS, with real client certificates.</summary>
public sealed class GatewayTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Forward_RegisteredClientOnAllowedRoute_ServiceReceivesValidCallerToken(string httpVersion)
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Get, "/child-health/api/visits?unit=rosengard-bvc");
        request.Version = Version.Parse(httpVersion);
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;

        using var response = await client.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        response.Version.ShouldBe(request.Version);
        response.Headers.Server.ShouldBeEmpty();
        var received = fixture.Backend.Find(testId).ShouldNotBeNull();
        received.PathAndQuery.ShouldBe("/api/visits?unit=rosengard-bvc");
        var token = received.Header(CallerTokenDefaults.HeaderName).ShouldHaveSingleItem();
        var validation = await fixture.CallerTokenValidator("child-health").ValidateAsync(token);
        var caller = validation.Principal.ShouldNotBeNull(validation.FailureReason);
        caller.ClientId().ShouldBe("bvc-ehr");
        caller.Units().ShouldBe(["rosengard-bvc"]);
    }

    [Fact]
    public async Task Forward_ManyRequestsAtOnceOnOneHttp2Connection_ReachTheServiceOnABoundedPoolOfConnections()
    {
        // A client multiplexing a hundred requests on one HTTP/2 connection to a slow service: over HTTP/1.1 the gateway
        // needs a connection per request in flight, and without a bound it opened one (a TLS handshake each) for every
        // request, hundreds at a time under load (docs/benchmarks.md, "The slow state"). They queue for a bounded pool.
        using var client = fixture.CreateClient("bvc-ehr");
        var sends = Enumerable.Range(0, 100).Select(async _ =>
        {
            var (request, testId) = Request(HttpMethod.Get, "/child-health/api/visits?unit=rosengard-bvc");
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            request.Headers.Add(EchoBackend.HoldHeader, "1000");
            using var response = await client.SendAsync(request, Cancellation);
            return (response.StatusCode, testId);
        }).ToList();
        var answers = await Task.WhenAll(sends);

        answers.ShouldAllBe(answer => answer.StatusCode == HttpStatusCode.OK, fixture.GatewayOutput);
        var connections = answers.Select(answer => fixture.Backend.Find(answer.testId).ShouldNotBeNull().ConnectionId).Distinct().Count();
        connections.ShouldBeLessThanOrEqualTo(32);
    }

    [Fact]
    public async Task Forward_AnyRequest_ReachesTheServiceWithTheGatewaysHopCertificate_AndATokenBoundToIt()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Get, "/child-health/api/visits");

        using var response = await client.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        var received = fixture.Backend.Find(testId).ShouldNotBeNull();
        using var hop = X509CertificateLoader.LoadCertificateFromFile(fixture.Pki.GatewayHopCertificatePath);
        var presented = received.ClientCertificate.ShouldNotBeNull("the gateway presents its hop certificate to the service");
        presented.RawData.ShouldBe(hop.RawData);
        var validation = await fixture.CallerTokenValidator("child-health").ValidateAsync(received.Header(CallerTokenDefaults.HeaderName).ShouldHaveSingleItem());
        var caller = validation.Principal.ShouldNotBeNull(validation.FailureReason);
        CertificateBinding.BoundThumbprint(caller).ShouldBe(CertificateBinding.ThumbprintOf(hop));
        CertificateBinding.IsBoundTo(caller, presented).ShouldBeTrue();
    }

    [Fact]
    public async Task Forward_ClientSendsInternalAndForwardingHeaders_ServiceReceivesNoneOfThem()
    {
        using var client = fixture.CreateClient("socialtjanst-system");
        var (request, testId) = Request(HttpMethod.Post, "/social-services/api/reports");
        request.Headers.TryAddWithoutValidation(CallerTokenDefaults.HeaderName, "forged.caller.token");
        request.Headers.TryAddWithoutValidation("X-Hub-Unit", "someone-elses-unit");
        request.Headers.TryAddWithoutValidation("x-hub-lowercase", "still internal");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "client-supplied");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "evil.example");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "http");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=203.0.113.7;host=evil.example");
        request.Headers.TryAddWithoutValidation("X-Custom-Header", "kept");
        request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");

        using var response = await client.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        var received = fixture.Backend.Find(testId).ShouldNotBeNull();
        received.Headers.Keys
            .Where(name => name.StartsWith("X-Hub-", StringComparison.OrdinalIgnoreCase))
            .ShouldBe([CallerTokenDefaults.HeaderName], ignoreOrder: true);
        received.Header(CallerTokenDefaults.HeaderName).ShouldHaveSingleItem().ShouldNotBe("forged.caller.token");
        received.Headers.Keys.ShouldNotContain(name => name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase));
        received.Headers.ContainsKey("Forwarded").ShouldBeFalse();
        received.Headers.ContainsKey("Authorization").ShouldBeFalse();
        received.Header("X-Custom-Header").ShouldBe(["kept"]);

        var validation = await fixture.CallerTokenValidator("social-services").ValidateAsync(received.Header(CallerTokenDefaults.HeaderName)[0]);
        validation.IsValid.ShouldBeTrue(validation.FailureReason);
        validation.Principal!.Units().ShouldBe(["rosengard-socialtjanst", "malmo-mottagning"]);
    }

    [Fact]
    public async Task Forward_ClientWithoutUnits_TokenCarriesEmptyUnitsArrayForThatRoute()
    {
        using var client = fixture.CreateClient("ops-console");
        var (request, testId) = Request(HttpMethod.Get, "/ops/api/flows");

        using var response = await client.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        var token = fixture.Backend.Find(testId).ShouldNotBeNull().Header(CallerTokenDefaults.HeaderName).ShouldHaveSingleItem();
        (await fixture.CallerTokenValidator("consent").ValidateAsync(token)).IsValid.ShouldBeFalse();
        var validation = await fixture.CallerTokenValidator("ops").ValidateAsync(token);
        validation.IsValid.ShouldBeTrue(validation.FailureReason);
        validation.Principal!.Units().ShouldBeEmpty();
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]));
        payload.RootElement.GetProperty("units").ValueKind.ShouldBe(JsonValueKind.Array);
    }

    [Fact]
    public async Task Forward_ClientSendsTraceparent_ServiceReceivesSameTraceId_AndNoBaggageNorTraceState()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var (request, testId) = Request(HttpMethod.Get, "/consent/api/consents");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        request.Headers.TryAddWithoutValidation("tracestate", "nin=191212121212");
        request.Headers.TryAddWithoutValidation("baggage", "nin=191212121212");
        request.Headers.TryAddWithoutValidation("Correlation-Context", "nin=191212121212");

        using var response = await client.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        var received = fixture.Backend.Find(testId).ShouldNotBeNull();
        var traceparent = received.Header("traceparent").ShouldHaveSingleItem();
        traceparent.Split('-')[1].ShouldBe(traceId);
        received.Header("tracestate").ShouldBeEmpty("a client's tracestate would ride on into every process");
        received.Header("baggage").ShouldBeEmpty("a client's baggage would ride on into every process");
        received.Header("Correlation-Context").ShouldBeEmpty();
    }

    [Fact]
    public async Task Connect_WithoutClientCertificate_IsRefusedBeforeAnyForwarding()
    {
        using var client = fixture.CreateClient(certificate: null);

        var (status, testId) = await TrySendAsync(client, "/child-health/api/visits");

        (status is null or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden).ShouldBeTrue($"got {status}");
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Connect_CertificateFromAnotherCa_IsRefusedBeforeAnyForwarding()
    {
        // Same CN as a registered client: only the issuer tells it apart.
        using var client = fixture.CreateClient(fixture.ForeignPki.LoadClientCertificate("bvc-ehr"));

        var (status, testId) = await TrySendAsync(client, "/child-health/api/visits");

        (status is null or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden).ShouldBeTrue($"got {status}");
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    /// <summary>
    /// A certificate may name where its issuer can be fetched (Authority Information Access). The gateway must never fetch
    /// it: before anyone is authenticated, that would have it call an address of the client's choosing, a thread blocked
    /// on each call and every fresh certificate a new one (the runtime builds chains with downloads on unless told not to,
    /// at the handshake and in the certificate handler).
    /// </summary>
    [Fact]
    public async Task Connect_CertificateNamingWhereItsIssuerIs_IsRefusedWithoutTheGatewayFetchingIt()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var fetches = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync(Cancellation);
                Interlocked.Increment(ref fetches);
            }
        }, Cancellation);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Somewhere Else CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=bvc-ehr", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(
            null, [$"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/ca.cer"]));
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        using var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
        // The client's own chain is built offline and it sends the certificate alone: any fetch is the gateway's.
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        }) { BaseAddress = fixture.GatewayUrl };

        var (status, testId) = await TrySendAsync(client, "/child-health/api/visits");
        await Task.Delay(TimeSpan.FromSeconds(1), Cancellation);

        (status is null or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden).ShouldBeTrue($"got {status}");
        fixture.Backend.Find(testId).ShouldBeNull();
        Volatile.Read(ref fetches).ShouldBe(0, "the gateway fetched the issuer the client's certificate named");
    }

    [Fact]
    public async Task Connect_DemoCaCertificateWithoutClientAuthUsage_IsRefusedBeforeAnyForwarding()
    {
        const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
        using var certificate = fixture.IssueByDemoCa("bvc-ehr", ServerAuthentication, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var client = fixture.CreateClient(certificate);

        var (status, testId) = await TrySendAsync(client, "/child-health/api/visits");

        (status is null or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden).ShouldBeTrue($"got {status}");
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Connect_ExpiredDemoCaClientCertificate_IsRefusedBeforeAnyForwarding()
    {
        const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
        using var certificate = fixture.IssueByDemoCa("bvc-ehr", ClientAuthentication, DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddMinutes(-1));
        using var client = fixture.CreateClient(certificate);

        var (status, testId) = await TrySendAsync(client, "/child-health/api/visits");

        (status is null or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden).ShouldBeTrue($"got {status}");
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    /// <summary>
    /// A system is its HSA id under its issuer, not its common name: a certificate from the trusted CA named like a
    /// registered client but without its HSA id is no client; with another client's HSA id it is that other client.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("SE2321000016-SOMEONEELSE")]
    public async Task Request_RegisteredCommonNameWithoutItsHsaId_Returns403Problem(string? serialNumber)
    {
        const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
        using var certificate = fixture.IssueByDemoCa("bvc-ehr", serialNumber, ClientAuthentication, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var client = fixture.CreateClient(certificate);
        var (request, testId) = Request(HttpMethod.Get, "/child-health/api/visits");

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.Forbidden);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Request_AnotherClientsHsaIdUnderARegisteredCommonName_IsThatOtherClient()
    {
        const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
        using var certificate = fixture.IssueByDemoCa(
            "bvc-ehr", DemoPki.HsaIdOf("ops-console"), ClientAuthentication, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var client = fixture.CreateClient(certificate);
        var (refusedRequest, refusedId) = Request(HttpMethod.Get, "/child-health/api/visits");
        var (request, testId) = Request(HttpMethod.Get, "/ops/api/flows");

        using var refused = await client.SendAsync(refusedRequest, Cancellation);
        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(refused, HttpStatusCode.Forbidden); // ops-console may not use child-health
        fixture.Backend.Find(refusedId).ShouldBeNull();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        var token = fixture.Backend.Find(testId).ShouldNotBeNull().Header(CallerTokenDefaults.HeaderName).ShouldHaveSingleItem();
        var validation = await fixture.CallerTokenValidator("ops").ValidateAsync(token);
        validation.Principal!.FindFirst(CallerTokenDefaults.SubjectClaim)!.Value.ShouldBe("ops-console");
    }

    [Fact]
    public async Task Request_TrustedCertificateNotRegistered_Returns403Problem()
    {
        using var client = fixture.CreateClient(GatewayFixture.UnregisteredClient);
        var (request, testId) = Request(HttpMethod.Get, "/consent/api/consents");

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.Forbidden);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Forward_RouteNotAllowedForClient_Returns403Problem()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Get, "/maternity-care/api/pregnancies");

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.Forbidden);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Request_UnknownRoute_Returns404Problem()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Get, "/not-a-service/file.txt");

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.NotFound);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Forward_BodyJustUnderLimit_ReachesService()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Post, "/child-health/api/visits");
        request.Content = new ByteArrayContent(new byte[GatewayFixture.MaxRequestBodyBytes]);

        using var response = await client.SendAsync(request, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, fixture.GatewayOutput);
        fixture.Backend.Find(testId).ShouldNotBeNull().BodyLength.ShouldBe(GatewayFixture.MaxRequestBodyBytes);
    }

    // Over HTTP/1.1 a client must ask with Expect: 100-continue to be sure of reading the 413: otherwise the
    // gateway answers before the body is sent and closes the connection while the client is still writing.
    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Forward_DeclaredBodyOverLimit_Returns413Problem(string httpVersion)
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Post, "/child-health/api/visits");
        request.Version = Version.Parse(httpVersion);
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        request.Headers.ExpectContinue = request.Version == HttpVersion.Version11;
        request.Content = new ByteArrayContent(new byte[GatewayFixture.MaxRequestBodyBytes + 1]);

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Forward_BodyOfUndeclaredLengthOverLimit_Returns413Problem()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Post, "/child-health/api/visits");
        // No Content-Length, so the limit can only be enforced while the body streams through. HTTP/2, because
        // its stream reset lets the client read the answer while it is still sending.
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        request.Content = new UndeclaredLengthContent(GatewayFixture.MaxRequestBodyBytes * 2);

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Forward_ServiceUnreachable_Returns502ProblemWithoutAddress()
    {
        using var client = fixture.CreateClient("forskola-system");
        var (request, _) = Request(HttpMethod.Get, "/open-preschool/api/visits");

        using var response = await client.SendAsync(request, Cancellation);

        var body = await ShouldBeProblemAsync(response, HttpStatusCode.BadGateway);
        body.ShouldNotContain("127.0.0.1");
        body.ShouldNotContain("refused", Case.Insensitive);
    }

    [Fact]
    public async Task Forward_CurlWithDemoPemFiles_ReachesService()
    {
        var curl = new[] { "/usr/bin/curl", "/usr/local/bin/curl" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(curl is null, "curl is not installed.");
        var testId = Guid.NewGuid().ToString("N");
        var curlRun = await ProcessRunner.RunAsync(
            curl!,
            [
                "--silent", "--show-error", "--output", "/dev/null", "--write-out", "%{http_code}",
                "--cacert", "ca.pem", "--cert", "clients/bvc-ehr.pem", "--key", "clients/bvc-ehr.key",
                "--header", $"{EchoBackend.TestIdHeader}: {testId}",
                new Uri(fixture.GatewayUrl, "/child-health/api/visits").ToString(),
            ],
            cancellationToken: Cancellation,
            prepare: info => info.WorkingDirectory = fixture.Pki.Folder);

        // --silent --show-error: on success the output is the status code alone, on failure curl's error follows it.
        curlRun.Output.Trim().ShouldBe("200");
        fixture.Backend.Find(testId).ShouldNotBeNull();
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_OnHealthPortWithoutCertificate_ReturnsHealthy(string path)
    {
        using var http = new HttpClient { BaseAddress = fixture.HealthUrl };

        using var response = await http.GetAsync(path, Cancellation);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/json");
        var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement;
        health.GetProperty("status").GetString().ShouldBe("Healthy");
        health.GetProperty("checks").ValueKind.ShouldBe(JsonValueKind.Object);
    }

    [Fact]
    public async Task Metrics_OnHealthPortWithoutCertificate_PrometheusTextOfTheGatewaysRequests()
    {
        using var client = fixture.CreateClient("bvc-ehr");
        (await TrySendAsync(client, "/child-health/api/visits")).Status.ShouldBe(HttpStatusCode.OK);
        using var http = new HttpClient { BaseAddress = fixture.HealthUrl };

        var metrics = await http.GetStringAsync("/metrics", Cancellation);

        metrics.ShouldContain("http_server_request_duration_seconds");
    }

    [Theory]
    [InlineData("/child-health/metrics")]
    [InlineData("/child-health/Metrics/")]
    [InlineData("/child-health//metrics")]
    [InlineData("/child-health/m%65trics")]
    [InlineData("/consent/health/ready")]
    [InlineData("/consent/HEALTH/live")]
    public async Task Forward_ServiceHealthOrMetrics_Returns404WithoutForwarding(string path)
    {
        using var client = fixture.CreateClient("bvc-ehr");
        var (request, testId) = Request(HttpMethod.Get, path);

        using var response = await client.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.NotFound);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    [Fact]
    public async Task Health_ServiceRouteOnHealthPort_Returns404WithoutForwarding()
    {
        using var http = new HttpClient { BaseAddress = fixture.HealthUrl };
        var (request, testId) = Request(HttpMethod.Get, "/consent/api/consents");

        using var response = await http.SendAsync(request, Cancellation);

        await ShouldBeProblemAsync(response, HttpStatusCode.NotFound);
        fixture.Backend.Find(testId).ShouldBeNull();
    }

    private static (HttpRequestMessage Request, string TestId) Request(HttpMethod method, string path)
    {
        var testId = Guid.NewGuid().ToString("N");
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(EchoBackend.TestIdHeader, testId);
        return (request, testId);
    }

    /// <summary>The status, or null when the TLS handshake (or the connection right after it) was refused.</summary>
    private static async Task<(HttpStatusCode? Status, string TestId)> TrySendAsync(HttpClient client, string path)
    {
        var (request, testId) = Request(HttpMethod.Get, path);
        try
        {
            using var response = await client.SendAsync(request, Cancellation);
            return (response.StatusCode, testId);
        }
        catch (HttpRequestException)
        {
            return (null, testId);
        }
    }

    private async Task<string> ShouldBeProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        response.StatusCode.ShouldBe(status, $"{body}\n{fixture.GatewayOutput}");
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        using var problem = JsonDocument.Parse(body);
        problem.RootElement.GetProperty("status").GetInt32().ShouldBe((int)status);
        problem.RootElement.TryGetProperty("title", out _).ShouldBeTrue();
        body.ShouldNotContain("Exception");
        body.ShouldNotContain("   at ");
        return body;
    }

    private sealed class UndeclaredLengthContent(long length) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[8 * 1024];
            for (var sent = 0L; sent < length; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length - sent)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
