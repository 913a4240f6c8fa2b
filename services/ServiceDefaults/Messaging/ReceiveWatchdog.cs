using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using MassTransit.RabbitMqTransport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// MassTransit 8.4 re-establishes a receive endpoint after its broker connection dies only once every message the
/// endpoint had in flight is done with. A message whose handling hangs on the dead connection therefore holds the
/// endpoint for good: the service runs on, healthy to every probe, and never consumes again (found by the fault suite,
/// docs/fault-injection.md; MassTransit's fixes for it are in versions that do not restore here).
/// <para>
/// The watchdog follows every message from the broker until it is acknowledged or faulted. One still in flight 35 s after
/// its channel closed can no longer be acknowledged (the broker has already put it back in the queue), so the
/// service is wedged: the watchdog stops it with exit code <see cref="WedgedExitCode"/> for its supervisor to start
/// afresh. That is a crash, and the hub is built to survive crashes: the redelivered message meets the inbox and the
/// ledger, which make a second handling harmless. Messages held up by a database outage keep their open channel and
/// are left alone.
/// </para>
/// </summary>
public sealed partial class ReceiveWatchdog(ILogger<ReceiveWatchdog> logger, IHostApplicationLifetime lifetime)
    : BackgroundService, IReceiveObserver
{
    /// <summary>EX_TEMPFAIL from sysexits.h: a temporary failure, start again.</summary>
    public const int WedgedExitCode = 75;

    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);

    /// <summary>If the graceful stop hangs on the same stuck message, the process ends anyway.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longer than one consumer attempt may take (30 s, MessagingExtensions): a message whose handling heeds that limit
    /// has been let go by then, and what is still in flight will not be. (At 20 s the watchdog also stopped services
    /// whose sends were about to give up by themselves: in five cluster runs out of five.)
    /// </summary>
    internal TimeSpan WedgedAfter { get; init; } = TimeSpan.FromSeconds(35);

    private readonly ConcurrentDictionary<ReceiveContext, InFlight> inFlight = new(ReferenceEqualityComparer.Instance);

    Task IReceiveObserver.PreReceive(ReceiveContext context)
    {
        if (context.TryGetPayload<ChannelContext>(out var channel))
        {
            inFlight[context] = new InFlight(channel, context.InputAddress);
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckEvery);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (FindWedged() is { } wedged)
            {
                LogWedged(logger, wedged.Endpoint, wedged.Stage, inFlight.Count, WedgedAfter.TotalSeconds);
                Environment.ExitCode = WedgedExitCode;
                lifetime.StopApplication();
                await Task.Delay(StopGrace, CancellationToken.None);
                Environment.Exit(WedgedExitCode);
            }
        }
    }

    /// <summary>A message in flight on a channel that has been closed for <see cref="WedgedAfter"/>, if there is one.</summary>
    internal InFlight? FindWedged()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var message in inFlight.Values)
        {
            if (message.IsOpen)
            {
                continue;
            }
            message.ClosedSeenAt ??= now;
            if (Stopwatch.GetElapsedTime(message.ClosedSeenAt.Value, now) >= WedgedAfter)
            {
                return message;
            }
        }
        return null;
    }

    // The endpoint's address and a count only: the message itself may be about a child.
    [LoggerMessage(EventId = 1, Level = LogLevel.Critical,
        Message = "Receive endpoint {Endpoint} is wedged: a message has been in flight {Seconds} s after its broker channel closed "
            + "({Stage}; {InFlight} in flight). Stopping with exit code 75 so that the service is started afresh; the broker redelivers the message.")]
    private static partial void LogWedged(ILogger logger, Uri endpoint, string stage, int inFlight, double seconds);

    internal sealed class InFlight(ChannelContext channel, Uri endpoint)
    {
        public Uri Endpoint { get; } = endpoint;

        public bool IsOpen => channel.Channel.IsOpen;

        /// <summary>How far the message got; for the log, to tell a consumer that hangs from a settlement that does.</summary>
        public string Stage { get; set; } = "in the consumer";

        /// <summary>When the watchdog first saw the channel closed (it cannot know when it closed).</summary>
        public long? ClosedSeenAt { get; set; }
    }
}
