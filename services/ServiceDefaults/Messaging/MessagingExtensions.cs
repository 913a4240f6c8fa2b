using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Operations;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using MassTransit;
using MassTransit.Middleware;
using Npgsql;
using RabbitMQ.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

public static class MessagingExtensions
{
    internal const string UsageTelemetryVariable = "MASSTRANSIT_USAGE_TELEMETRY";

    /// <summary>
    /// MassTransit over RabbitMQ as every service uses it: durable quorum queues, publisher confirms, retries, and the
    /// in-memory outbox so that a consumer's sends and publishes leave only after it has succeeded (its own state is
    /// committed first; a crash means redelivery, never a message about something that did not happen).
    /// </summary>
    public static IHostApplicationBuilder AddHubMessaging(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator> configure)
    {
        // MassTransit's usage tracker lets this variable override DisableUsageTelemetry (below), so a deployment's
        // environment could turn the report to the vendor back on. This process's own copy says no.
        Environment.SetEnvironmentVariable(UsageTelemetryVariable, "false");
        builder.Services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            configure(x);
            // MassTransit 8.4+ reports "usage telemetry" (host, versions, endpoint and consumer names) to the vendor after
            // the bus starts. Nothing about the hub leaves it for a vendor; last, so no service's callback turns it back on.
            x.DisableUsageTelemetry();
            x.AddConfigureEndpointsCallback((context, name, endpoint) =>
            {
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                {
                    rabbit.SetQuorumQueue();
                    rabbit.PrefetchCount = 64;
                    if (Queues.IsBoundaryQueue(name))
                    {
                        // The deployment declares the gate's and the delivery queues and binds them to their only ways
                        // in; the service just consumes. Binding takes write permission on the queue, which would let
                        // its consumer feed it from an exchange of its own. (MassTransit still declares an exchange of
                        // the queue's name, bound to nothing.)
                        rabbit.BindQueue = false;
                    }
                }

                // A Fault<T> carries the whole message, personal data included, to a fanout exchange that any service
                // allowed to bind to it would receive. No service consumes faults; the _error queue keeps the message.
                endpoint.PublishFaults = false;

                // MassTransit's own error pipe with one filter between its two: the error copy says which way the
                // message came in and why it faulted, in headers a sender cannot have written (docs/error-queues.md).
                var observers = context.GetServices<IParkedMessageObserver>().ToList();
                endpoint.ConfigureError(error =>
                {
                    error.UseFilter(new GenerateFaultFilter());
                    error.UseFilter(new ErrorCopyFilter(observers));
                    error.UseFilter(new ErrorTransportFilter());
                });

                // A consumer's PostgreSQL error quotes the value it refused (its Where and Detail) and MassTransit logs a
                // fault with its exception: it leaves the consumer as its SQLSTATE alone (docs/error-queues.md).
                endpoint.ConnectConsumerConfigurationObserver(new DatabaseErrorFilters());

                // A fault in the message or the code: a few tries, then the error queue, so it cannot block the rest.
                endpoint.UseMessageRetry(r => r.Intervals(100, 500, 2000, 5000, 10000));
                // The database or the broker is away: keep the message (unacknowledged, so a crash redelivers it) and
                // keep trying until it is back. Fail closed and lose nothing: such a message is delayed, never parked.
                endpoint.UseMessageRetry(r =>
                {
                    r.Handle<NpgsqlException>(e => e.IsTransient);
                    r.Handle<TimeoutException>();
                    r.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));
                });
                // One attempt may take at most 30 s: a publish waiting on a broker connection that died must give up, or the
                // receive endpoint waits for it and never reconnects. The message stays unacknowledged and comes again.
                // What does not heed the limit (it happens inside MassTransit) is the MessagingWatchdog's to end.
                endpoint.UseTimeout(t => t.Timeout = TimeSpan.FromSeconds(30));
                // The sends wait for their confirms together, not one after another: a consumer's messages go to
                // different queues and consumers, whose order no one can rely on anyway.
                endpoint.UseInMemoryOutbox(context, o => o.ConcurrentMessageDelivery = true);
            });
            x.UsingRabbitMq((context, cfg) =>
            {
                var options = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                cfg.Host(options.Host, (ushort)options.Port, options.VirtualHost, h =>
                {
                    h.Username(options.Username);
                    h.Password(options.Password);
                    h.PublisherConfirmation = true;
                    var nodes = options.AllNodes();
                    if (nodes.Count > 1)
                    {
                        // Each new connection goes to the next node in turn (Host:Port first), so a service whose node
                        // dies reconnects to a live one; the quorum queues have a member on every node.
                        h.UseCluster(cluster =>
                        {
                            foreach (var node in nodes)
                            {
                                cluster.Node(node);
                            }
                        });
                    }
                });
                // Named by the hub, not after the CLR type: the broker's permissions are written against these names.
                cfg.Message<DisclosureStatusChanged>(m => m.SetEntityName(Queues.StatusExchange));
                cfg.Message<DisclosureStatusesChanged>(m => m.SetEntityName(Queues.StatusExchange));
                cfg.Message<ConsentRevoked>(m => m.SetEntityName(Queues.RevocationExchange));
                cfg.Publish<DisclosureStatusChanged>(p => p.ExchangeType = ExchangeType.Topic);
                cfg.Publish<DisclosureStatusesChanged>(p => p.ExchangeType = ExchangeType.Topic);
                // An operator's action on this service's messages goes the same way, for the ledger (StatusRoutes.OperatorsWord).
                cfg.Message<OperatorActionTaken>(m => m.SetEntityName(Queues.StatusExchange));
                cfg.Publish<OperatorActionTaken>(p => p.ExchangeType = ExchangeType.Topic);
                // "<publisher>.<sender's service>.<sending unit>.<status>" (StatusRoutes): the broker holds each service to
                // its own name, so consumers know who said it; a service binds its own units, the ledger the statuses it records.
                var self = context.GetRequiredService<HubService>();
                var registry = context.GetRequiredService<OrganisationRegistry>();
                cfg.Send<DisclosureStatusChanged>(s => s.UseRoutingKeyFormatter(c => StatusRoutes.Key(
                    self.Name, StatusEventOrigin.SenderServiceOf(registry, c.Message.SendingUnit), c.Message.SendingUnit, c.Message.Status.ToString())));
                // Several events of one sending unit and status travel under the key of the first; a consumer holds every
                // change to that key (StatusEventOrigin.Accepted).
                cfg.Send<DisclosureStatusesChanged>(s => s.UseRoutingKeyFormatter(c => StatusRoutes.Key(
                    self.Name, StatusEventOrigin.SenderServiceOf(registry, c.Message.Changes[0].SendingUnit), c.Message.Changes[0].SendingUnit,
                    c.Message.Changes[0].Status.ToString())));
                cfg.Send<OperatorActionTaken>(s => s.UseRoutingKeyFormatter(c => StatusRoutes.OperatorActionKey(self.Name, c.Message.Scope)));
                cfg.ConfigureEndpoints(context);
            });
        });

        // A broker that is down at start delays the service's work; it must not stop the service from starting.
        builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = false);
        // A receive endpoint that no longer consumes, or a channel whose publishes the broker keeps rejecting, ends the
        // process for a fresh start.
        builder.Services.AddSingleton(sp => new MessagingWatchdog(
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<MessagingWatchdog>>(), sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<IOptions<RabbitMqOptions>>())
        {
            StatePath = builder.Configuration["Watchdog:StatePath"],
        });
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MessagingWatchdog>());
        builder.Services.AddReceiveObserver(sp => sp.GetRequiredService<MessagingWatchdog>());
        builder.Services.AddReceiveEndpointObserver(sp => sp.GetRequiredService<MessagingWatchdog>());
        builder.Services.AddSendObserver(sp => sp.GetRequiredService<MessagingWatchdog>());
        builder.Services.AddPublishObserver(sp => sp.GetRequiredService<MessagingWatchdog>());
        return builder;
    }

    /// <summary>
    /// Receive the lifecycle events that match these topic patterns (<see cref="StatusRoutes.Pattern"/>), e.g.
    /// "*.child-health.rosengard-bvc.*" for one unit's messages, "*.*.*.Delivered" for every delivery. The broker lets an
    /// operation service bind only to its own messages' events.
    /// </summary>
    public static void BindStatusEvents(this IReceiveEndpointConfigurator endpoint, IEnumerable<string> patterns)
    {
        endpoint.ConfigureConsumeTopology = false;
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            foreach (var pattern in patterns)
            {
                rabbit.Bind(Queues.StatusExchange, b =>
                {
                    b.ExchangeType = ExchangeType.Topic;
                    b.RoutingKey = pattern;
                });
            }
        }
    }
}
