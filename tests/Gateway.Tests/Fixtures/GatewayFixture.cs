using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.LocalHub.Processes;
using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Gateway.Tests.Fixtures;

/// <summary>
/// A demo PKI in a temporary folder, a second PKI whose CA the gateway does not trust, an echo backend standing in
/// for every service (except open-preschool, which points at a closed port), and the real gateway in front: started
/// from this project's build output as LocalHub starts it (<see cref="ServiceProcess"/>), configured only through
/// environment variables, with nothing replaced by test doubles. (In-process hosting would share the test's TLS and
/// logging state, and WebApplicationFactory's TestServer has no TLS at all.)
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    public const string UnregisteredClient = "unregistered-system";
    public const long MaxRequestBodyBytes = 100_000;

    /// <summary>The test's own registry, so an edit of the demo clients.json cannot change what these tests prove.</summary>
    public static readonly IReadOnlyList<TestClient> Clients =
    [
        new("bvc-ehr", ["rosengard-bvc"], ["child-health", "consent"]),
        new("socialtjanst-system", ["rosengard-socialtjanst", "malmo-mottagning"], ["social-services", "consent"]),
        new("ops-console", [], ["ops"], "hub"),
        new("forskola-system", ["rosengard-oppna-forskolan"], ["open-preschool"]),
        // Revoked by RevocationTests: no other test uses it.
        new(RevokedClient, ["solglantan-bvc"], ["child-health"]),
    ];

    public const string RevokedClient = "revoked-system";

    private readonly TempFolder folder = new();
    private EchoBackend? backend;
    private ServiceProcess? gateway;

    public DemoPki Pki { get; private set; } = null!;

    /// <summary>Issued the same client names, by a CA the gateway has never heard of.</summary>
    public DemoPki ForeignPki { get; private set; } = null!;

    internal EchoBackend Backend => backend!;

    public Uri GatewayUrl { get; private set; } = null!;

    public Uri HealthUrl { get; private set; } = null!;

    /// <summary>The fixture's own temporary folder, removed with it.</summary>
    protected string Folder => folder.Path;

    /// <summary>The end of what the gateway wrote, to explain a failed test.</summary>
    public string GatewayOutput => gateway?.LogTail(200) ?? string.Empty;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Pki = DemoPki.Ensure(Path.Combine(folder.Path, "pki"), [.. Clients.Select(client => client.Id), UnregisteredClient]);
        ForeignPki = DemoPki.Ensure(Path.Combine(folder.Path, "foreign-pki"), ["bvc-ehr"]);

        var clientsPath = Path.Combine(folder.Path, "clients.json");
        await File.WriteAllTextAsync(clientsPath, JsonSerializer.Serialize(new
        {
            clients = Clients.Select(client => new { id = client.Id, hsaId = DemoPki.HsaIdOf(client.Id), units = client.Units, routes = client.Routes, operates = client.Operates }),
        }), cancellationToken);

        backend = await EchoBackend.StartAsync(
            Pki.LoadInternalCertificate(Pki.ServiceCertificatePath("child-health"), Pki.ServiceKeyPath("child-health")), cancellationToken);
        GatewayUrl = new Uri($"https://127.0.0.1:{FreePorts.Next()}");
        HealthUrl = new Uri($"http://127.0.0.1:{FreePorts.Next()}");

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Gateway__Url"] = GatewayUrl.ToString(),
            ["Gateway__HealthUrl"] = HealthUrl.ToString(),
            ["Gateway__ServerCertificatePath"] = Pki.GatewayCertificatePath,
            ["Gateway__ServerKeyPath"] = Pki.GatewayKeyPath,
            ["Gateway__ClientCaPath"] = Pki.CaCertificatePath,
            ["Gateway__ClientCrlPath"] = Pki.CrlPath,
            ["Gateway__ClientsPath"] = clientsPath,
            ["Gateway__Limits__MaxRequestBodyBytes"] = MaxRequestBodyBytes.ToString(CultureInfo.InvariantCulture),
            ["CallerToken__PrivateKeyPath"] = Pki.CallerTokenPrivateKeyPath,
            ["ServiceHop__CaPath"] = Pki.InternalCaCertificatePath,
            ["ServiceHop__ClientCertificatePath"] = Pki.GatewayHopCertificatePath,
            ["ServiceHop__ClientKeyPath"] = Pki.GatewayHopKeyPath,
            ["Logging__LogLevel__Default"] = "Warning",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        foreach (var service in CallerTokenDefaults.Audiences)
        {
            environment[$"Services__{service}"] = backend.Address.ToString();
        }

        // Nothing listens here, so forwarding to open-preschool fails the way a crashed service would.
        environment["Services__open-preschool"] = $"https://127.0.0.1:{FreePorts.Next()}";
        // Ops runs as two instances of which the first has crashed: the gateway must find the live one.
        environment["Services__ops"] = $"https://127.0.0.1:{FreePorts.Next()},{backend.Address}";
        Configure(environment);

        gateway = new ServiceProcess(
            "gateway", Path.Combine(AppContext.BaseDirectory, "FamiljecentralHub.Gateway.dll"), HealthUrl, environment,
            Path.Combine(folder.Path, "logs", "gateway.log")) { ReadyTimeout = TimeSpan.FromSeconds(30) };
        await gateway.StartAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }

        if (backend is not null)
        {
            await backend.DisposeAsync();
        }

        folder.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// An HTTPS client presenting <paramref name="certificate"/> (or none) and trusting only the demo CA; its connections
    /// come from <paramref name="from"/> when given (another loopback address, as another host would).
    /// </summary>
    public HttpClient CreateClient(X509Certificate2? certificate, IPAddress? from = null)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = from is null ? null : async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                // Always offer the certificate, even when the server's list of acceptable CAs does not name its
                // issuer: the gateway, not the client, must be the one that refuses it.
                LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate!,
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, server, _, errors) =>
                    server is X509Certificate2 serverCertificate && IsIssuedByDemoCa(serverCertificate, errors),
            },
        };
        return new HttpClient(handler) { BaseAddress = GatewayUrl, DefaultRequestVersion = HttpVersion.Version11 };
    }

    public HttpClient CreateClient(string clientId, IPAddress? from = null) => CreateClient(Pki.LoadClientCertificate(clientId), from);

    public CallerTokenValidator CallerTokenValidator(string audience) => new(Pki.CallerTokenPublicKeyPath, audience);

    /// <summary>
    /// A certificate from the trusted demo CA that DemoPki itself would never issue, to prove the gateway checks
    /// more than the issuer.
    /// </summary>
    public X509Certificate2 IssueByDemoCa(string commonName, string usageOid, DateTimeOffset notBefore, DateTimeOffset notAfter) =>
        IssueByDemoCa(commonName, DemoPki.HsaIdOf(commonName), usageOid, notBefore, notAfter);

    /// <param name="serialNumber">The subject's serialNumber, where a client's HSA id goes; null for none.</param>
    public X509Certificate2 IssueByDemoCa(string commonName, string? serialNumber, string usageOid, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var ca = X509Certificate2.CreateFromPemFile(Pki.CaCertificatePath, Pki.CaKeyPath);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        if (serialNumber is { } hsaId)
        {
            subject.Add("2.5.4.5", hsaId, System.Formats.Asn1.UniversalTagNumber.PrintableString);
        }

        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usageOid)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        // The demo CA is minutes old, and a certificate may not start before its issuer.
        var start = notBefore < ca.NotBefore ? new DateTimeOffset(ca.NotBefore) : notBefore;
        using var issued = request.Create(ca, start, notAfter, RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>Lets a derived fixture change the gateway's configuration.</summary>
    protected virtual void Configure(IDictionary<string, string> environment)
    {
    }

    private bool IsIssuedByDemoCa(X509Certificate2 server, SslPolicyErrors errors)
    {
        // The chain error is expected (the demo CA is in no system store); a name mismatch is not.
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var ca = X509CertificateLoader.LoadCertificateFromFile(Pki.CaCertificatePath);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }
}

public sealed record TestClient(string Id, string[] Units, string[] Routes, string? Operates = null);
