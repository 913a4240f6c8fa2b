using System.Collections.Concurrent;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Topology;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// The gate's two consumers with their real consent store and ledger on a PostgreSQL database of their own, and
/// MassTransit's in-memory test harness in the broker's place: a consumer's behaviour in milliseconds, not a whole hub.
/// </summary>
internal sealed class GateHarness : IAsyncDisposable
{
    /// <summary>
    /// The header a test sets to say which exchange the broker would have reported the message came in through. Only the
    /// broker is replaced: RabbitMQ names the exchange with every delivery, the in-memory transport has no such thing.
    /// </summary>
    private const string ArrivedThroughHeader = "Test-Arrived-Through";

    private readonly ServiceProvider provider;
    private readonly LedgerWriter writer;

    private GateHarness(ServiceProvider provider, ITestHarness harness, LedgerWriter writer)
    {
        this.provider = provider;
        Harness = harness;
        this.writer = writer;
    }

    public ITestHarness Harness { get; }

    /// <summary>Every delivery the gate sent, in order.</summary>
    public IReadOnlyCollection<(Uri Exchange, DeliverDisclosure Delivery)> Deliveries => provider.GetRequiredService<DeliveryLog>().Sent;

    public NpgsqlDataSource Db => provider.GetRequiredService<NpgsqlDataSource>();

    public ConsentStore Consents => provider.GetRequiredService<ConsentStore>();

    public Pseudonymizer Pseudonyms => provider.GetRequiredService<Pseudonymizer>();

    public static async Task<GateHarness> StartAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection()
            .AddSingleton(db)
            .AddSingleton(TestOrganisation.Registry)
            .AddSingleton(TestOrganisation.Gate)
            .AddSingleton(TestOrganisation.Bases)
            .AddSingleton(Options.Create(new PseudonymOptions { Key = Convert.ToBase64String(new byte[32]) }))
            .AddSingleton<Pseudonymizer>()
            .AddSingleton<ConsentStore>()
            .AddSingleton<DecisionLedger>()
            .AddSingleton<LedgerWriter>()
            .AddSingleton<TimeProvider>(new FixedClock(TestOrganisation.Now))
            .AddSingleton<DeliveryLog>()
            .AddSendObserver(sp => sp.GetRequiredService<DeliveryLog>())
            .AddMassTransitTestHarness(x =>
            {
                x.AddConsumer<SubmitDisclosureConsumer>().Endpoint(e => e.Name = Queues.Gate);
                x.AddConsumer<RedeliverDisclosureConsumer>().Endpoint(e =>
                {
                    e.Name = Queues.Redeliveries;
                    e.ConfigureConsumeTopology = false;
                });
                x.AddConfigureEndpointsCallback((_, _, endpoint) => endpoint.UseFilter(new ArrivedThrough()));
            });
        // The harness's inactivity, once reached, ends every later wait at once, and on a busy machine a database round
        // trip can outlast a short one. The tests wait only for what must happen (a status, a consumed message).
        services.Configure<TestHarnessOptions>(o =>
        {
            o.TestTimeout = TimeSpan.FromSeconds(30);
            o.TestInactivityTimeout = TimeSpan.FromSeconds(5);
        });
        var provider = services.BuildServiceProvider(validateScopes: true);
        var writer = provider.GetRequiredService<LedgerWriter>();
        await writer.StartAsync(cancellationToken);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return new GateHarness(provider, harness, writer);
    }

    /// <summary>Sends to the gate's queue as though through <paramref name="exchange"/> (null: not over RabbitMQ).</summary>
    public Task SubmitAsync(object message, string? exchange) => SendAsync(Queues.Gate, message, exchange);

    public Task RedeliverAsync(object message, string? exchange) => SendAsync(Queues.Redeliveries, message, exchange);

    private async Task SendAsync(string queue, object message, string? exchange)
    {
        var endpoint = await Harness.Bus.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(message, context =>
        {
            if (exchange is not null)
            {
                context.Headers.Set(ArrivedThroughHeader, exchange);
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await writer.StopAsync(CancellationToken.None);
        await provider.DisposeAsync();
    }

    /// <summary>
    /// The harness's own lists keep one message per message id, and the gate sends every delivery of a submission under
    /// that submission's id: only a log of its own sees the second.
    /// </summary>
    private sealed class DeliveryLog : ISendObserver
    {
        private readonly ConcurrentQueue<(Uri, DeliverDisclosure)> sent = new();

        public IReadOnlyCollection<(Uri Exchange, DeliverDisclosure Delivery)> Sent => sent;

        public Task PostSend<T>(SendContext<T> context)
            where T : class
        {
            if (context.Message is DeliverDisclosure delivery && context.DestinationAddress is { } destination
                && destination.AbsolutePath.TrimStart('/').StartsWith("deliveries.", StringComparison.Ordinal))
            {
                sent.Enqueue((destination, delivery));
            }

            return Task.CompletedTask;
        }

        public Task PreSend<T>(SendContext<T> context)
            where T : class => Task.CompletedTask;

        public Task SendFault<T>(SendContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Gives the received message what RabbitMQ would have: the exchange it came in through, and its headers.</summary>
    private sealed class ArrivedThrough : IFilter<ConsumeContext>
    {
        public Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
        {
            if (context.Headers.Get<string>(ArrivedThroughHeader) is { } exchange)
            {
                var headers = context.Headers.GetAll().ToDictionary(h => h.Key, h => (object?)h.Value);
                context.ReceiveContext.GetOrAddPayload<RabbitMqBasicConsumeContext>(() => new Delivery(exchange, headers));
            }

            return next.Send(context);
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope("arrivedThrough");
    }

    private sealed class Delivery(string exchange, IDictionary<string, object?> headers) : RabbitMqBasicConsumeContext
    {
        public string Exchange => exchange;
        public string RoutingKey => "";
        public string ConsumerTag => "test";
        public ulong DeliveryTag => 1;
        public IReadOnlyBasicProperties Properties { get; } = new BasicProperties { Headers = headers };
    }
}
