extern alias ChildHealth;

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.Topology;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using ChildHealthProgram = ChildHealth::Program;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>
/// The child health service as its own Program builds it, in memory (WebApplicationFactory): the settings LocalHub gives
/// a service (ServiceEnvironment), the demo organisation, a caller-token key from the demo PKI, a fresh PostgreSQL
/// database with the service's migrations applied, and MassTransit's in-memory test harness in the broker's place. Only the
/// broker is replaced: what the sending API hands the gate is seen without one.
/// </summary>
public class ChildHealthService : IAsyncLifetime
{
    public static readonly string Name = Catalogue.ChildHealth.Name;

    private readonly string pkiFolder = Path.Combine(Path.GetTempPath(), $"sending-api-pki-{Guid.NewGuid():N}");
    private ScratchPostgres postgres = null!;
    private WebApplicationFactory<ChildHealthProgram> factory = null!;
    private CallerTokenIssuer tokens = null!;
    private X509Certificate2 gatewayHop = null!;

    /// <summary>The service's own database, for the tests to see what it stored.</summary>
    public NpgsqlDataSource Db { get; private set; } = null!;

    public Pseudonymizer Pseudonyms => factory.Services.GetRequiredService<Pseudonymizer>();

    public ITestHarness Harness => factory.Services.GetRequiredService<ITestHarness>();

    /// <summary>Every submission the service sent towards the gate, with the headers it went with.</summary>
    public SubmissionLog Submissions => factory.Services.GetRequiredService<SubmissionLog>();

    /// <summary>Settings a fixture of its own adds to or changes from a hub's.</summary>
    protected virtual IReadOnlyDictionary<string, string> ExtraSettings { get; } = new Dictionary<string, string>();

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        postgres = await ScratchPostgres.StartAsync("sending-api-tests", cancellationToken);
        var connectionString = await postgres.NewEmptyDatabaseAsync(cancellationToken);
        Db = NpgsqlDataSource.Create(connectionString);
        // As a hub runs the service's migrate command before the service: the service only checks its schema is current.
        await SchemaMigrations.ApplyAsync(Db, typeof(OperationServiceExtensions).Assembly, NullLoggerFactory.Instance, cancellationToken);
        var pki = DemoPki.Ensure(pkiFolder, []);
        gatewayHop = pki.LoadInternalCertificate(pki.GatewayHopCertificatePath, pki.GatewayHopKeyPath);
        tokens = new CallerTokenIssuer(pki.CallerTokenPrivateKeyPath, gatewayHop);

        // ServiceEnvironment's keys, as configuration (a hub hands them over as environment variables).
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Database"] = connectionString,
            ["Organisation:Path"] = RepositoryLayout.Locate().OrganisationPath,
            ["CallerToken:PublicKeyPath"] = pki.CallerTokenPublicKeyPath,
            // TestServer has no Kestrel and no TLS: the service's certificate is not needed, only the CA callers chain to.
            ["Tls:ClientCaPath"] = pki.InternalCaCertificatePath,
            ["Pseudonym:Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            // No broker: the harness stands in for it. The messaging watchdog still looks at the queues now and then
            // (it is registered beside the bus); port 1 refuses it at once, so it concludes nothing and touches no broker.
            ["RabbitMq:Host"] = "127.0.0.1",
            ["RabbitMq:Port"] = "1",
            ["RabbitMq:Username"] = Name,
            ["RabbitMq:Password"] = "unused",
        };
        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }

        factory = new WebApplicationFactory<ChildHealthProgram>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Production");
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }

            web.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
            web.ConfigureTestServices(services =>
            {
                services.AddSingleton<SubmissionLog>();
                services.AddSendObserver(sp => sp.GetRequiredService<SubmissionLog>());
                // Replaces the RabbitMQ bus AddHubMessaging configured with the in-memory one, keeping its consumers
                // and its endpoint settings.
                services.AddMassTransitTestHarness();
                services.Configure<TestHarnessOptions>(o => o.TestTimeout = TimeSpan.FromMinutes(2));
            });
        });
        _ = factory.Server; // starts the host: the schema is checked before the first request
    }

    public async ValueTask DisposeAsync()
    {
        await factory.DisposeAsync();
        await Db.DisposeAsync();
        await postgres.DisposeAsync();
        gatewayHop.Dispose();
        Directory.Delete(pkiFolder, recursive: true);
    }

    /// <summary>
    /// A client as the gateway forwards it: on a connection with the gateway's hop certificate (TestServer sets it as the
    /// TLS handshake would), with a caller token for <paramref name="clientId"/> and its units bound to it, or none.
    /// </summary>
    public HttpClient Client(string? clientId, IReadOnlyList<string>? units = null, string? audience = null)
    {
        var client = new HttpClient(factory.Server.CreateHandler(context => context.Connection.ClientCertificate = gatewayHop))
        {
            BaseAddress = new Uri("https://localhost/"),
        };
        if (clientId is not null)
        {
            client.DefaultRequestHeaders.Add(CallerTokenDefaults.HeaderName, tokens.Issue(clientId, units ?? [], audience ?? Name));
        }

        return client;
    }

    /// <summary>
    /// The harness's own lists keep one message per message id and wait for the bus to be idle before they answer; this
    /// log answers at once, and a submission is in it before the service answers the request that sent it.
    /// </summary>
    public sealed class SubmissionLog : ISendObserver
    {
        private readonly ConcurrentQueue<(Uri Destination, SubmitDisclosure Message, IReadOnlyDictionary<string, object?> Headers)> sent = new();

        public IReadOnlyList<(Uri Destination, SubmitDisclosure Message, IReadOnlyDictionary<string, object?> Headers)> For(string subjectId) =>
            [.. sent.Where(s => s.Message.SubjectId == subjectId)];

        public Task PostSend<T>(SendContext<T> context)
            where T : class
        {
            if (context.Message is SubmitDisclosure submission && context.DestinationAddress is { } destination)
            {
                sent.Enqueue((destination, submission, context.Headers.GetAll().ToDictionary(h => h.Key, h => (object?)h.Value)));
            }

            return Task.CompletedTask;
        }

        public Task PreSend<T>(SendContext<T> context)
            where T : class => Task.CompletedTask;

        public Task SendFault<T>(SendContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
