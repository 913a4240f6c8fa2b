using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using MassTransit;
using MassTransit.RabbitMqTransport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// MassTransit 8.4 does not always get a receive endpoint consuming again after its broker connection dies: it waits
/// for every message the endpoint had in flight to be done with, and a message whose handling hangs on the dead
/// connection holds it for good; and now and then an endpoint with nothing in flight does not come back either. The
/// service then runs on, healthy to every probe, and never consumes again (found by the fault suite,
/// docs/fault-injection.md). MassTransit 8.5 carries fixes for this (#5692, #6102), yet fault runs on 8.5.12 still
/// met such wedges after a broker restart and a cluster node loss (docs/fault-injection.md, "MassTransit 8.5.12").
/// <para>
/// The watchdog notices both. It follows every message from the broker until it is acknowledged or faulted: one still
/// in flight <see cref="WedgedAfter"/> after its channel closed can no longer be acknowledged (the broker has already
/// put it back in the queue), and one whose consumer finished <see cref="WedgedAfter"/> ago without it being
/// acknowledged or faulted since is held by something after the consumer that hangs (a send waiting for a confirm that
/// never comes), whatever its channel says. And it asks the broker, over a connection of its own, how many messages
/// wait in each of the service's queues: messages waiting for <see cref="IdleAfter"/> while the endpoint, with nothing in flight,
/// receives none, mean nobody here consumes them. Either way the service is wedged, and the watchdog stops it with
/// exit code <see cref="WedgedExitCode"/> for its supervisor to start afresh. That is a crash, and the hub is built to
/// survive crashes: redelivered messages meet the inbox and the ledger, which make a second handling harmless.
/// Messages held up by a database outage are in flight on an open channel, and are left alone.
/// </para>
/// <para>
/// It also watches sends and publishes. RabbitMQ 3.10 rejects (nacks) every publish on a channel that once published to a quorum
/// queue while the queue had no leader, also after it has one again, while a new channel is served at once (after a
/// cluster node loss, for minutes; QuorumLossTests shows it); the service answers 503 to every submission meanwhile.
/// No queue here has a length limit, so a nack is never back-pressure: publishes to one destination nacked for
/// <see cref="NackedFor"/> with none to it confirmed in between stop the service the same way. (Per destination: the
/// broker goes on confirming the same channel's publishes elsewhere, and a consumer whose message sends to two places,
/// tried again and again, would otherwise have one confirmed and the other nacked for ever.) A memory alarm blocks
/// publishes, and a broker that is down refuses the connection: neither is a nack; a consumer's sends blocked for longer
/// than <see cref="WedgedAfter"/> restart the service as any hang after a consumer does, which only costs a start.
/// </para>
/// </summary>
public sealed partial class MessagingWatchdog(
    ILogger<MessagingWatchdog> logger, IHostApplicationLifetime lifetime, IOptions<RabbitMqOptions> options)
    : BackgroundService, IReceiveObserver, IReceiveEndpointObserver, ISendObserver, IPublishObserver
{
    /// <summary>EX_TEMPFAIL from sysexits.h: a temporary failure, start again.</summary>
    public const int WedgedExitCode = 75;

    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    /// <summary>If the graceful stop hangs on the same stuck message, the process ends anyway.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<ReceiveContext, InFlight> inFlight = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<Uri, Endpoint> endpoints = new();
    private readonly Lock sends = new();
    private readonly Dictionary<Uri, NackStreak> nacks = [];
    private IConnection? connection;
    private IChannel? channel;

    /// <summary>
    /// Longer than one consumer attempt may take (30 s, MessagingExtensions): a message whose handling heeds that limit
    /// has been let go by then, and what is still in flight will not be. (At 20 s the watchdog also stopped services
    /// whose sends were about to give up by themselves: in five cluster runs of seven.)
    /// </summary>
    internal TimeSpan WedgedAfter { get; init; } = TimeSpan.FromSeconds(35);

    /// <summary>
    /// A live consumer with room in its prefetch gets a waiting message at once; half a minute without one, with
    /// nothing in flight, is not a slow consumer.
    /// </summary>
    internal TimeSpan IdleAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long every publish may be nacked before the channel is taken for broken. Clients retry a 503 for longer
    /// than this, so a restart ends the refusals before they give up.
    /// </summary>
    internal TimeSpan NackedFor { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the restart count outlives the process (Watchdog:StatePath; <see cref="WatchdogRestarts"/>).</summary>
    public string? StatePath { get; init; }

    Task IReceiveObserver.PreReceive(ReceiveContext context)
    {
        if (endpoints.TryGetValue(context.InputAddress, out var endpoint))
        {
            endpoint.LastReceivedAt = Stopwatch.GetTimestamp();
        }
        if (context.TryGetPayload<ChannelContext>(out var channelContext))
        {
            inFlight[context] = new InFlight(channelContext, context.InputAddress);
        }
        return Task.CompletedTask;
    }

    Task IReceiveObserver.PostReceive(ReceiveContext context)
    {
        inFlight.TryRemove(context, out _);
        return Task.CompletedTask;
    }

    Task IReceiveObserver.ReceiveFault(ReceiveContext context, Exception exception)
    {
        inFlight.TryRemove(context, out _);
        return Task.CompletedTask;
    }

    Task IReceiveObserver.PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
    {
        if (inFlight.TryGetValue(context.ReceiveContext, out var message))
        {
            message.Stage = "consumed, not yet acknowledged";
            message.ConsumedAt ??= Stopwatch.GetTimestamp();
        }
        return Task.CompletedTask;
    }

    Task IReceiveObserver.ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
    {
        if (inFlight.TryGetValue(context.ReceiveContext, out var message))
        {
            message.Stage = $"consumer faulted ({exception.GetType().Name}), not yet settled";
        }
        return Task.CompletedTask;
    }

    Task ISendObserver.PreSend<T>(SendContext<T> context) => Task.CompletedTask;

    Task ISendObserver.PostSend<T>(SendContext<T> context) => Confirmed(context.DestinationAddress);

    Task ISendObserver.SendFault<T>(SendContext<T> context, Exception exception) => Failed(context.DestinationAddress, exception);

    // A publish is not a send to MassTransit's observers: the status events are published, and a watchdog that watched
    // sends only never saw them nacked (a receiver retried one for minutes without a restart).
    Task IPublishObserver.PrePublish<T>(PublishContext<T> context) => Task.CompletedTask;

    Task IPublishObserver.PostPublish<T>(PublishContext<T> context) => Confirmed(context.DestinationAddress);

    Task IPublishObserver.PublishFault<T>(PublishContext<T> context, Exception exception) => Failed(context.DestinationAddress, exception);

    private Task Confirmed(Uri? destination)
    {
        if (destination is not null)
        {
            lock (sends)
            {
                nacks.Remove(destination);
            }
        }
        return Task.CompletedTask;
    }

    private Task Failed(Uri? destination, Exception exception)
    {
        if (destination is not null && IsNack(exception))
        {
            lock (sends)
            {
                if (!nacks.TryGetValue(destination, out var streak))
                {
                    nacks[destination] = streak = new NackStreak(Stopwatch.GetTimestamp());
                }
                streak.Count++;
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>A publish the broker nacked; a mandatory one returned as unroutable is not one.</summary>
    private static bool IsNack(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is RabbitMQ.Client.Exceptions.PublishException { IsReturn: false })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Every endpoint is ready once, at start; from then on it is watched, whatever MassTransit says of it later (a
    /// wedged endpoint may well report itself stopped, and stay so).
    /// </summary>
    Task IReceiveEndpointObserver.Ready(ReceiveEndpointReady ready)
    {
        endpoints.TryAdd(ready.InputAddress, new Endpoint(ready.InputAddress));
        return Task.CompletedTask;
    }

    Task IReceiveEndpointObserver.Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    Task IReceiveEndpointObserver.Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    Task IReceiveEndpointObserver.Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        WatchdogRestarts.Load(StatePath);
        using var timer = new PeriodicTimer(CheckEvery);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (await CheckAsync(stoppingToken) is { } wedged)
            {
                LogWedged(logger, wedged.Endpoint, wedged.Why);
                WatchdogRestarts.Record(DateTimeOffset.UtcNow);
                Environment.ExitCode = WedgedExitCode;
                lifetime.StopApplication();
                await Task.Delay(StopGrace, CancellationToken.None);
                Environment.Exit(WedgedExitCode);
            }
        }
    }

    public override void Dispose()
    {
        channel?.Dispose();
        connection?.Dispose();
        base.Dispose();
    }

    /// <summary>The first wedged endpoint found, if any.</summary>
    internal async Task<Wedge?> CheckAsync(CancellationToken cancellationToken) =>
        FindStuckMessage() ?? FindNackedSends() ?? await FindIdleWithBacklogAsync(cancellationToken);

    /// <summary>Publishes to one destination nacked for <see cref="NackedFor"/>, at least three of them, and none to it confirmed since.</summary>
    private Wedge? FindNackedSends()
    {
        lock (sends)
        {
            foreach (var (destination, streak) in nacks)
            {
                if (streak.Count >= 3 && Stopwatch.GetElapsedTime(streak.Since) >= NackedFor)
                {
                    return new Wedge(destination, string.Create(CultureInfo.InvariantCulture,
                        $"the broker has rejected every publish for {NackedFor.TotalSeconds:0} s ({streak.Count} in a row, none confirmed)"));
                }
            }
            return null;
        }
    }

    /// <summary>
    /// A message in flight on a channel that has been closed for <see cref="WedgedAfter"/>; or one whose consumer finished
    /// <see cref="WedgedAfter"/> ago and that is neither acknowledged nor faulted since, on any channel: what follows
    /// the consumer (the outbox's sends, the acknowledgement) hangs. A message held up by the database is not one: its
    /// consumer has not finished.
    /// </summary>
    private Wedge? FindStuckMessage()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var message in inFlight.Values)
        {
            if (message.ConsumedAt is { } consumedAt && Stopwatch.GetElapsedTime(consumedAt, now) >= WedgedAfter)
            {
                return new Wedge(message.Endpoint, string.Create(CultureInfo.InvariantCulture,
                    $"a message was consumed {WedgedAfter.TotalSeconds:0} s ago and is neither acknowledged nor faulted ({inFlight.Count} in flight)"));
            }
            if (message.IsOpen)
            {
                continue;
            }
            message.ClosedSeenAt ??= now;
            if (Stopwatch.GetElapsedTime(message.ClosedSeenAt.Value, now) >= WedgedAfter)
            {
                return new Wedge(message.Endpoint, string.Create(CultureInfo.InvariantCulture,
                    $"a message has been in flight {WedgedAfter.TotalSeconds:0} s after its broker channel closed ({message.Stage}; {inFlight.Count} in flight)"));
            }
        }
        return null;
    }

    /// <summary>An endpoint whose queue has had messages waiting for <see cref="IdleAfter"/> while it received none.</summary>
    private async Task<Wedge?> FindIdleWithBacklogAsync(CancellationToken cancellationToken)
    {
        foreach (var endpoint in endpoints.Values)
        {
            var waiting = inFlight.Values.Any(message => message.Endpoint == endpoint.Address)
                ? null
                : await WaitingInAsync(endpoint.QueueName, cancellationToken);
            if (waiting is not > 0)
            {
                endpoint.BacklogSeenAt = null;
                continue;
            }
            var now = Stopwatch.GetTimestamp();
            if (endpoint.BacklogSeenAt is not { } since || endpoint.LastReceivedAt > since)
            {
                endpoint.BacklogSeenAt = now;
                continue;
            }
            if (Stopwatch.GetElapsedTime(since, now) >= IdleAfter)
            {
                return new Wedge(endpoint.Address, string.Create(CultureInfo.InvariantCulture,
                    $"{waiting} messages have waited {IdleAfter.TotalSeconds:0} s in its queue and it received none, with nothing in flight"));
            }
        }
        return null;
    }

    /// <summary>Messages ready in the queue, or null when the broker cannot be asked now (then nothing is concluded).</summary>
    private async Task<uint?> WaitingInAsync(string queue, CancellationToken cancellationToken)
    {
        try
        {
            if (channel is not { IsOpen: true })
            {
                if (connection is not { IsOpen: true })
                {
                    connection?.Dispose();
                    connection = await options.Value.ConnectAsync("messaging watchdog", cancellationToken);
                }
                channel?.Dispose();
                channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            }
            return (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException or IOException or TimeoutException)
        {
            LogBrokerNotAsked(logger, queue, e.GetType().Name);
            return null;
        }
    }

    // The endpoint's address and counts only: a message itself may be about a child.
    [LoggerMessage(EventId = 1, Level = LogLevel.Critical,
        Message = "Messaging with {Endpoint} is wedged: {Why}. Stopping with exit code 75 so that the service is started afresh; the broker redelivers what was not acknowledged.")]
    private static partial void LogWedged(ILogger logger, Uri endpoint, string why);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Messaging watchdog could not ask the broker about {Queue} ({Exception}).")]
    private static partial void LogBrokerNotAsked(ILogger logger, string queue, string exception);

    /// <summary>Which endpoint (or send destination) is wedged, and why (metadata only).</summary>
    internal sealed record Wedge(Uri Endpoint, string Why);

    private sealed class NackStreak(long since)
    {
        public long Since { get; } = since;

        public int Count { get; set; }
    }

    private sealed class InFlight(ChannelContext channel, Uri endpoint)
    {
        public Uri Endpoint { get; } = endpoint;

        public bool IsOpen => channel.Channel.IsOpen;

        /// <summary>How far the message got; for the log, to tell a consumer that hangs from a settlement that does.</summary>
        public string Stage { get; set; } = "in the consumer";

        /// <summary>When its consumer first finished with it (a retry of what follows runs the consumer again).</summary>
        public long? ConsumedAt { get; set; }

        /// <summary>When the watchdog first saw the channel closed (it cannot know when it closed).</summary>
        public long? ClosedSeenAt { get; set; }
    }

    private sealed class Endpoint(Uri address)
    {
        public Uri Address { get; } = address;

        /// <summary>The queue is the address's last segment: rabbitmq://host[/vhost]/queue.</summary>
        public string QueueName { get; } = Uri.UnescapeDataString(address.Segments[^1]);

        public long LastReceivedAt { get; set; }

        public long? BacklogSeenAt { get; set; }
    }
}
