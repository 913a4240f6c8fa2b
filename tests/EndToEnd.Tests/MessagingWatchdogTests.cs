using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Messaging;
using System.Diagnostics;
using FamiljecentralHub.Tests.Support;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>A message the watchdog test's consumer receives.</summary>
public sealed record WatchdogProbe(Guid Id);

/// <summary>
/// The messaging watchdog on a real MassTransit bus over a real broker connection. The wedges it exists for happen
/// inside MassTransit and the broker now and then, not on demand; here a consumer that will not finish stands in for
/// the part that hangs, the broker forces the connection shut as a dying node does, an endpoint stopped under a filling
/// queue stands in for one that did not come back, and a full queue that rejects publishes makes the broker nack them
/// as it did after a cluster node loss.
/// </summary>
public sealed class MessagingWatchdogTests(HubFixture hub) : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(2);
    private readonly string user = $"watchdog-test-{Guid.NewGuid():N}";
    // The watchdog's own connection under a user of its own: closing the bus's connections must not close it too.
    private readonly string watchdogUser = $"watchdog-test-{Guid.NewGuid():N}";
    private readonly string password = Guid.NewGuid().ToString("N");
    private readonly string queue = $"watchdog-test-{Guid.NewGuid():N}";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        foreach (var name in new[] { user, watchdogUser })
        {
            await hub.Hub.Rabbit.CreateUserAsync(name, password, Ct);
            await hub.Hub.Rabbit.SetPermissionsAsync(hub.Hub.VirtualHost, name, new BrokerPermission(".*", ".*", ".*"), Ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await hub.Hub.Rabbit.DeleteUserAsync(user, CancellationToken.None);
        await hub.Hub.Rabbit.DeleteUserAsync(watchdogUser, CancellationToken.None);
    }

    [Fact]
    public async Task MessageInFlightOnAClosedChannel_IsWedged_ButASlowOneOnAnOpenChannelIsNot()
    {
        var rabbit = hub.Hub.Rabbit;
        var watchdog = NewWatchdog();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = NewBus(watchdog, endpoint => endpoint.Handler<WatchdogProbe>(async _ =>
        {
            received.TrySetResult();
            await release.Task; // deaf to cancellation, like the send that hangs on a dead connection
        }));
        await bus.StartAsync(Ct);
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            await SendWithinAsync(endpoint);
            await received.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            await StaysUnwedgedAsync(watchdog, "in flight on an open channel for longer than the limit: slow, not wedged");

            // The management API lists a new connection within a statistics interval or so.
            await Eventually.MatchAsync(
                () => rabbit.CloseConnectionsAsync(user, Ct), closed => closed > 0, TimeSpan.FromSeconds(15),
                _ => "the broker never listed the test's connection", TimeSpan.FromMilliseconds(200), Ct);
            var wedged = await WaitForWedgeAsync(watchdog, "a message still in flight after its channel closed is a wedged endpoint");
            wedged.Endpoint.AbsolutePath.ShouldEndWith(queue);
            wedged.Why.ShouldContain("after its broker channel closed");
        }
        finally
        {
            release.TrySetResult();
            await StopAsync(bus);
        }
    }

    /// <summary>
    /// A consumer that has done its work, whose message is then neither acknowledged nor faulted on an open channel:
    /// what follows the consumer (the outbox's sends waiting for a confirm, the acknowledgement) hangs. The database does
    /// not come into it (a consumer held up by the database has not finished), so this is a wedge, not a slow message.
    /// A filter that waits after the consumer stands in for the send that hangs.
    /// </summary>
    [Fact]
    public async Task MessageConsumedButNeitherAcknowledgedNorFaulted_IsWedged()
    {
        var watchdog = NewWatchdog();
        var consumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = NewBus(watchdog, endpoint =>
        {
            endpoint.UseFilter(new HangAfterConsumer(release.Task));
            endpoint.Handler<WatchdogProbe>(_ =>
            {
                consumed.TrySetResult();
                return Task.CompletedTask;
            });
        });
        await bus.StartAsync(Ct);
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            await SendWithinAsync(endpoint);
            await consumed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            var since = Stopwatch.StartNew();

            var wedged = await WaitForWedgeAsync(watchdog, "a message consumed and then neither acknowledged nor faulted is a wedged endpoint");
            since.Elapsed.ShouldBeGreaterThanOrEqualTo(Limit - TimeSpan.FromMilliseconds(100), "not before the limit");
            wedged.Endpoint.AbsolutePath.ShouldEndWith(queue);
            wedged.Why.ShouldContain("neither acknowledged nor faulted");
        }
        finally
        {
            release.TrySetResult();
            await StopAsync(bus);
        }
    }

    /// <summary>Lets the consumer run, then holds the message until released, deaf to cancellation.</summary>
    private sealed class HangAfterConsumer(Task release) : IFilter<ConsumeContext>
    {
        public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
        {
            await next.Send(context);
            await release;
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope("hang-after-consumer");
    }

    [Fact]
    public async Task EndpointThatReceivesNothingWhileItsQueueFills_IsWedged_ButABusyOneIsNot()
    {
        var watchdog = NewWatchdog();
        var received = new SemaphoreSlim(0);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = NewBus(watchdog);
        await bus.StartAsync(Ct);
        try
        {
            var handle = bus.ConnectReceiveEndpoint(queue, endpoint =>
            {
                ((IRabbitMqReceiveEndpointConfigurator)endpoint).PrefetchCount = 1;
                endpoint.Handler<WatchdogProbe>(async _ =>
                {
                    received.Release();
                    await release.Task;
                });
            });
            await handle.Ready.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            var send = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            foreach (var _ in Enumerable.Range(0, 3))
            {
                await SendWithinAsync(send);
            }
            (await received.WaitAsync(TimeSpan.FromSeconds(30), Ct)).ShouldBeTrue();
            await StaysUnwedgedAsync(watchdog, "messages wait while the endpoint works on one: busy, not wedged");

            release.TrySetResult();
            await handle.StopAsync(Ct);
            foreach (var _ in Enumerable.Range(0, 3))
            {
                await SendWithinAsync(send);
            }
            var wedged = await WaitForWedgeAsync(watchdog, "messages waiting and none received, with nothing in flight: nobody consumes them");
            wedged.Endpoint.AbsolutePath.ShouldEndWith(queue);
            wedged.Why.ShouldContain("received none");
        }
        finally
        {
            release.TrySetResult();
            await StopAsync(bus);
        }
    }

    [Fact]
    public async Task PublishesTheBrokerKeepsRejecting_AreWedged_UntilOneIsConfirmed()
    {
        var watchdog = NewWatchdog();
        var exchange = $"{queue}.in";
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);
        // Room for one message, and the broker nacks every publish beyond it.
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: Ct);
        await DeclareRefusingQueueAsync(channel, queue, room: 1);
        await channel.QueueBindAsync(queue, exchange, routingKey: string.Empty, cancellationToken: Ct);
        var bus = NewBus(watchdog);
        bus.ConnectSendObserver(watchdog);
        await bus.StartAsync(Ct);
        try
        {
            var send = await bus.GetSendEndpoint(new Uri($"exchange:{exchange}"));
            await SendWithinAsync(send);

            var rejecting = Stopwatch.StartNew();
            var wedged = (await Eventually.MatchAsync(
                async () =>
                {
                    await Should.ThrowAsync<Exception>(() => SendWithinAsync(send, TimeSpan.FromSeconds(5)));
                    return await watchdog.CheckAsync(Ct);
                },
                found => found is not null, TimeSpan.FromSeconds(20),
                _ => "every publish nacked, none confirmed: the channel is taken for broken; the watchdog found no wedge within 20 s",
                TimeSpan.FromMilliseconds(200), Ct))!;

            rejecting.Elapsed.ShouldBeGreaterThanOrEqualTo(Limit, "nacks for less than the limit are not a wedge");
            wedged.Endpoint.AbsolutePath.ShouldEndWith(exchange);
            wedged.Why.ShouldContain("rejected every publish");

            await channel.QueuePurgeAsync(queue, Ct);
            await SendWithinAsync(send);
            (await watchdog.CheckAsync(Ct)).ShouldBeNull("a confirmed publish ends the streak");
        }
        finally
        {
            await StopAsync(bus);
            await channel.QueueDeleteAsync(queue, cancellationToken: CancellationToken.None);
            await channel.ExchangeDeleteAsync(exchange, cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>
    /// A publish is not a send to MassTransit's observers: a consumer's status event, published and nacked by the broker
    /// for good, went unseen by a watchdog that watched sends only, and the receiver retried it for minutes without a
    /// restart (a CI run of QuorumLossTests). The watchdog is connected as the services connect it.
    /// </summary>
    [Fact]
    public async Task PublishesTheBrokerKeepsRejecting_AreWedged()
    {
        var watchdog = NewWatchdog();
        var full = $"{queue}.published";
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);
        var bus = NewBus(watchdog, configure: cfg => cfg.Message<WatchdogProbe>(m => m.SetEntityName(full)));
        bus.ConnectSendObserver(watchdog);
        bus.ConnectPublishObserver(watchdog);
        await bus.StartAsync(Ct);
        try
        {
            await PublishWithinAsync(bus);
            await DeclareRefusingQueueAsync(channel, full);
            await channel.QueueBindAsync(full, full, routingKey: string.Empty, cancellationToken: Ct);

            var wedged = (await Eventually.MatchAsync(
                async () =>
                {
                    await Should.ThrowAsync<Exception>(() => PublishWithinAsync(bus, TimeSpan.FromSeconds(5)));
                    return await watchdog.CheckAsync(Ct);
                },
                found => found is not null, TimeSpan.FromSeconds(20),
                _ => "every publish nacked, none confirmed; the watchdog found no wedge within 20 s",
                TimeSpan.FromMilliseconds(200), Ct))!;
            wedged.Endpoint.AbsolutePath.ShouldEndWith(full);
            wedged.Why.ShouldContain("rejected every publish");

            await channel.QueueDeleteAsync(full, cancellationToken: Ct);
            await PublishWithinAsync(bus);
            (await watchdog.CheckAsync(Ct)).ShouldBeNull("a confirmed publish ends the streak");
        }
        finally
        {
            await StopAsync(bus);
            await channel.QueueDeleteAsync(full, cancellationToken: CancellationToken.None);
            await channel.ExchangeDeleteAsync(full, cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>
    /// RabbitMQ keeps nacking a channel's publishes to the one quorum queue that had no leader, while the same channel's
    /// publishes elsewhere are confirmed. A consumer that sends to both, retrying its message, confirms one send and has
    /// the other nacked, again and again: the broken destination must still be found.
    /// </summary>
    [Fact]
    public async Task PublishesRejectedAtOneDestination_AreWedged_ThoughAnotherConfirmsMeanwhile()
    {
        var watchdog = NewWatchdog();
        var full = $"{queue}.full";
        var open = $"{queue}.open";
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);
        await channel.ExchangeDeclareAsync(full, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: Ct);
        await channel.ExchangeDeclareAsync(open, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: Ct);
        await DeclareRefusingQueueAsync(channel, full);
        await channel.QueueDeclareAsync(open, durable: true, exclusive: false, autoDelete: false, cancellationToken: Ct);
        await channel.QueueBindAsync(full, full, routingKey: string.Empty, cancellationToken: Ct);
        await channel.QueueBindAsync(open, open, routingKey: string.Empty, cancellationToken: Ct);
        var bus = NewBus(watchdog);
        bus.ConnectSendObserver(watchdog);
        await bus.StartAsync(Ct);
        try
        {
            var toFull = await bus.GetSendEndpoint(new Uri($"exchange:{full}"));
            var toOpen = await bus.GetSendEndpoint(new Uri($"exchange:{open}"));
            var wedged = (await Eventually.MatchAsync(
                async () =>
                {
                    await SendWithinAsync(toOpen);
                    await Should.ThrowAsync<Exception>(() => SendWithinAsync(toFull, TimeSpan.FromSeconds(5)));
                    await SendWithinAsync(toOpen);
                    return await watchdog.CheckAsync(Ct);
                },
                found => found is not null, TimeSpan.FromSeconds(20),
                _ => "every publish to one destination nacked: that destination is broken whatever the others do; the watchdog found no wedge within 20 s",
                TimeSpan.FromMilliseconds(200), Ct))!;
            wedged.Endpoint.AbsolutePath.ShouldEndWith(full);
            wedged.Why.ShouldContain("rejected every publish");
        }
        finally
        {
            await StopAsync(bus);
            foreach (var name in new[] { full, open })
            {
                await channel.QueueDeleteAsync(name, cancellationToken: CancellationToken.None);
                await channel.ExchangeDeleteAsync(name, cancellationToken: CancellationToken.None);
            }
        }
    }

    /// <summary>The test's own broker user on the hub's virtual host, for declaring what the bus under test meets.</summary>
    private Task<IConnection> ConnectAsync() =>
        new ConnectionFactory
        {
            HostName = hub.Hub.Rabbit.Host,
            Port = hub.Hub.Rabbit.AmqpPort,
            VirtualHost = hub.Hub.VirtualHost,
            UserName = user,
            Password = password,
        }.CreateConnectionAsync(Ct);

    /// <summary>A queue with room for <paramref name="room"/> messages, beyond which the broker nacks every publish to it.</summary>
    private static Task DeclareRefusingQueueAsync(IChannel channel, string name, int room = 0) =>
        channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = room, ["x-overflow"] = "reject-publish" }, cancellationToken: Ct);

    private MessagingWatchdog NewWatchdog() =>
        new(NullLogger<MessagingWatchdog>.Instance, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance),
            Options.Create(new RabbitMqOptions
            {
                Host = hub.Hub.Rabbit.Host,
                Port = hub.Hub.Rabbit.AmqpPort,
                VirtualHost = hub.Hub.VirtualHost,
                Username = watchdogUser,
                Password = password,
            }))
        {
            WedgedAfter = Limit,
            IdleAfter = Limit,
            NackedFor = Limit,
        };

    private IBusControl NewBus(
        MessagingWatchdog watchdog, Action<IRabbitMqReceiveEndpointConfigurator>? endpoint = null, Action<IRabbitMqBusFactoryConfigurator>? configure = null)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            configure?.Invoke(cfg);
            cfg.Host(hub.Hub.Rabbit.Host, (ushort)hub.Hub.Rabbit.AmqpPort, hub.Hub.VirtualHost, h =>
            {
                h.Username(user);
                h.Password(password);
            });
            if (endpoint is not null)
            {
                cfg.ReceiveEndpoint(queue, endpoint);
            }
        });
        bus.ConnectReceiveObserver(watchdog);
        bus.ConnectReceiveEndpointObserver(watchdog);
        return bus;
    }

    /// <summary>A send that never completes fails the test instead of holding up the whole run.</summary>
    private static async Task SendWithinAsync(ISendEndpoint send, TimeSpan? within = null)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(within ?? TimeSpan.FromSeconds(30));
        await send.Send(new WatchdogProbe(Guid.NewGuid()), bounded.Token);
    }

    /// <summary>A publish that never completes fails the test instead of holding up the whole run.</summary>
    private static async Task PublishWithinAsync(IBus bus, TimeSpan? within = null)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(within ?? TimeSpan.FromSeconds(30));
        await bus.Publish(new WatchdogProbe(Guid.NewGuid()), bounded.Token);
    }

    /// <summary>Checks every 200 ms for twice the limit that no wedge is found.</summary>
    private static Task StaysUnwedgedAsync(MessagingWatchdog watchdog, string because) =>
        Eventually.StaysAsync(
            () => watchdog.CheckAsync(Ct), found => found is null, Limit * 2,
            found => $"{because}; yet the watchdog found {found!.Endpoint.AbsolutePath} wedged: {found.Why}", TimeSpan.FromMilliseconds(200), Ct);

    /// <summary>Checks every 200 ms for up to 20 s until a wedge is found.</summary>
    private static async Task<MessagingWatchdog.Wedge> WaitForWedgeAsync(MessagingWatchdog watchdog, string because) =>
        (await Eventually.MatchAsync(
            () => watchdog.CheckAsync(Ct), found => found is not null, TimeSpan.FromSeconds(20),
            _ => $"{because}; the watchdog found no wedge within 20 s", TimeSpan.FromMilliseconds(200), Ct))!;

    private static async Task StopAsync(IBusControl bus)
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await bus.StopAsync(stopping.Token);
    }
}
