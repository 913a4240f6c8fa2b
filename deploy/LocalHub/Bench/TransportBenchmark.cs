using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace FamiljecentralHub.LocalHub.Bench;

/// <summary>
/// What both clients carry: the hub's own submission, filled as a referral, with a sequence number (so the bench can
/// tell a lost or a duplicated message) and the publisher's Stopwatch timestamp (one process, one clock).
/// Public: MassTransit's serializer and topology take the message type from outside this assembly.
/// </summary>
public sealed record TransportProbe
{
    public required long Sequence { get; init; }

    public required long SentAt { get; init; }

    public required SubmitDisclosure Disclosure { get; init; }
}

/// <summary>Where the bench connects: a user with configure, write and read rights on the virtual host.</summary>
public sealed record BrokerTarget(string Host, int Port, string VirtualHost, string User, string Password)
{
    /// <summary>Hides the password, since records print every member.</summary>
    public override string ToString() => $"{User}@{Host}:{Port}/{VirtualHost}";
}

public enum TransportClient
{
    /// <summary>RabbitMQ.Client alone: a confirming channel with tracking, a manually acknowledging consumer.</summary>
    RabbitMqClient,

    /// <summary>MassTransit's RabbitMQ transport as the services use it: publish with confirms, a consumer on a quorum endpoint.</summary>
    MassTransit,

    /// <summary>
    /// The same with the filters every service's endpoint has (services/ServiceDefaults/Messaging): two retry policies,
    /// a timeout and the in-memory outbox; what a message costs the hub in MassTransit before any of its own work.
    /// </summary>
    MassTransitWithHubFilters,
}

/// <summary>
/// One client at one in-flight count. Rates, latencies and CPU per message are of the measured window (CPU per message
/// consumed in it); the backlog is what was confirmed but not yet consumed at its end: the publishers wait for the
/// broker's confirm, not for the consumer, so a consumer slower than they are shows as a growing backlog and a latency
/// that is mostly time in the queue. The counts are of the whole run, warm-up and drain included.
/// </summary>
public sealed record TransportResult(
    TransportClient Client,
    int InFlight,
    double Seconds,
    long Measured,
    double Rate,
    double PublishRate,
    long Backlog,
    double P50,
    double P95,
    double P99,
    double ClientCpuMicros,
    double? BrokerCpuMicros,
    long WireBytes,
    long Published,
    long PublishFailures,
    long Consumed,
    long Duplicates,
    long Lost)
{
    /// <summary>Every confirmed message consumed once: no loss, no duplicate, and no publish the broker refused.</summary>
    public bool ExactlyOnce => PublishFailures == 0 && Duplicates == 0 && Lost == 0 && Consumed == Published;

    public static string Name(TransportClient client) => client switch
    {
        TransportClient.RabbitMqClient => "RabbitMQ.Client 7.2.2",
        TransportClient.MassTransit => "MassTransit 8.5.12",
        TransportClient.MassTransitWithHubFilters => "MassTransit 8.5.12 + the hub's filters",
        _ => client.ToString(),
    };

    public static string Header =>
        "| client | in flight | msg/s consumed | msg/s confirmed | queued at end | p50 ms | p95 ms | p99 ms | CPU µs/msg client | broker | sum | bytes on the wire | published | consumed | duplicates | lost |"
        + Environment.NewLine
        + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    public string Row()
    {
        var broker = BrokerCpuMicros is { } b ? b.ToString("0", CultureInfo.InvariantCulture) : "n/a";
        var refused = PublishFailures > 0 ? string.Create(CultureInfo.InvariantCulture, $" (and {PublishFailures} not confirmed)") : "";
        var sum = BrokerCpuMicros is { } s ? (ClientCpuMicros + s).ToString("0", CultureInfo.InvariantCulture) : "n/a";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"| {Name(Client)} | {InFlight} | {Rate:0} | {PublishRate:0} | {Backlog} | {P50:0.00} | {P95:0.00} | {P99:0.00} | {ClientCpuMicros:0} | {broker} | {sum} | {WireBytes} | {Published}{refused} | {Consumed} | {Duplicates} | {Lost} |");
    }
}

/// <summary>
/// Issue 16, S2: the same message on the same kind of queue (durable, quorum) through RabbitMQ.Client alone and through
/// MassTransit. A closed loop of <c>inFlight</c> publishers, each publishing a persistent message and awaiting its
/// confirm before the next, and one consumer acknowledging each message, with prefetch and concurrency equal to the
/// in-flight count. With <c>untilConsumed</c> each publisher also waits for its message to be consumed before the next,
/// so that the in-flight count is the number of messages in the system and the latency has no queue in it. After a warm-up, a measured window: messages consumed per second, publish → consume latency and
/// the CPU of this process and of the broker's VM in that window only. Then the publishers stop, the queue drains,
/// and every sequence number issued is checked: each consumed exactly once, or the result says how many were not.
/// </summary>
public sealed class TransportBenchmark(BrokerTarget broker, Func<int?> brokerPid, TextWriter output)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    public async Task<TransportResult> RunAsync(
        TransportClient client, int inFlight, TimeSpan warmUp, TimeSpan measure, int bodyBytes, CancellationToken cancellationToken,
        bool untilConsumed = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFlight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inFlight, ushort.MaxValue);
        // A queue of its own for each run, so nothing an earlier run left can be counted in this one.
        var queue = string.Create(CultureInfo.InvariantCulture, $"bench-transport-{client.ToString().ToLowerInvariant()}-{inFlight}-{Guid.NewGuid():N}")[..48];
        var tally = new ProbeTally();
        var disclosure = Referral(bodyBytes);
        output.WriteLine($"{TransportResult.Name(client)}, {inFlight} in flight: warming up for {warmUp.TotalSeconds:0} s, then measuring {measure.TotalSeconds:0} s ...");
        await using var transport = client switch
        {
            TransportClient.RabbitMqClient => (IProbeTransport)await RawTransport.StartAsync(broker, queue, inFlight, tally, cancellationToken),
            TransportClient.MassTransit => await MassTransitTransport.StartAsync(broker, queue, inFlight, tally, hubFilters: false, cancellationToken),
            TransportClient.MassTransitWithHubFilters => await MassTransitTransport.StartAsync(broker, queue, inFlight, tally, hubFilters: true, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(client)),
        };

        long issued = 0, confirmed = 0;
        var failed = new System.Collections.Concurrent.ConcurrentBag<long>();
        using var stop = new CancellationTokenSource();
        var publishers = Enumerable.Range(0, inFlight).Select(_ => Task.Run(
            async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var probe = new TransportProbe { Sequence = Interlocked.Increment(ref issued), SentAt = Stopwatch.GetTimestamp(), Disclosure = disclosure };
                    var arrival = untilConsumed ? tally.ArrivalOf(probe.Sequence) : null;
                    try
                    {
                        await transport.PublishAsync(probe, cancellationToken);
                        Interlocked.Increment(ref confirmed);
                        if (arrival is not null)
                        {
                            // A message that never comes must not stop the loop; the check after the drain counts it lost.
                            await Task.WhenAny(arrival, Task.Delay(DrainTimeout, cancellationToken));
                        }
                    }
                    catch (Exception) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Not confirmed: it may or may not be on the queue, so it is neither lost nor owed; counted apart.
                        failed.Add(probe.Sequence);
                    }
                }
            },
            cancellationToken)).ToArray();

        await Task.Delay(warmUp, cancellationToken);
        var start = Sample(tally, Interlocked.Read(ref confirmed));
        await Task.Delay(measure, cancellationToken);
        var end = Sample(tally, Interlocked.Read(ref confirmed));
        await stop.CancelAsync();
        await Task.WhenAll(publishers);

        var published = Interlocked.Read(ref issued) - failed.Count;
        var draining = Stopwatch.StartNew();
        while (tally.Consumed < published && draining.Elapsed < DrainTimeout)
        {
            await Task.Delay(20, cancellationToken);
        }
        // A redelivery would come after the original; give one a moment to show itself.
        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);

        var seconds = Stopwatch.GetElapsedTime(start.Timestamp, end.Timestamp).TotalSeconds;
        var measured = end.Consumed - start.Consumed;
        var latencies = tally.LatenciesBetween(start.Timestamp, end.Timestamp, Interlocked.Read(ref issued));
        double At(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        double? brokerCpu = start.BrokerCpu is { } b0 && end.BrokerCpu is { } b1 && measured > 0 ? (b1 - b0).TotalMicroseconds / measured : null;
        var failedSet = failed.ToHashSet();
        var result = new TransportResult(
            client, inFlight, seconds, measured, measured / seconds, (end.Confirmed - start.Confirmed) / seconds, Math.Max(0, end.Confirmed - end.Consumed),
            At(0.50), At(0.95), At(0.99),
            measured > 0 ? (end.ClientCpu - start.ClientCpu).TotalMicroseconds / measured : double.NaN,
            brokerCpu,
            tally.WireBytes,
            published,
            failed.Count,
            tally.Consumed - tally.ConsumedAmong(failedSet),
            tally.Duplicates,
            tally.Missing(Interlocked.Read(ref issued), failedSet));
        output.WriteLine(result.Row());
        return result;
    }

    private readonly record struct Window(long Timestamp, long Confirmed, long Consumed, TimeSpan ClientCpu, TimeSpan? BrokerCpu);

    private Window Sample(ProbeTally tally, long confirmed)
    {
        using var self = Process.GetCurrentProcess();
        return new(Stopwatch.GetTimestamp(), confirmed, tally.Consumed, self.TotalProcessorTime, brokerPid() is { } pid ? ProcessCpu.CpuTime(pid) : null);
    }

    /// <summary>
    /// A referral as the child health service submits it (the demo's BVC → social services flow), its content the
    /// request's JSON padded so that the probe serializes to about <paramref name="bodyBytes"/> bytes.
    /// </summary>
    internal static SubmitDisclosure Referral(int bodyBytes)
    {
        var subject = DemoIdentityNumbers.Child(0);
        var content = JsonSerializer.Serialize(DemoRequests.Referral(subject), ProbeJson.Options);
        SubmitDisclosure With(string text) => new()
        {
            MessageId = Guid.NewGuid(),
            SendingUnit = DemoRequests.ChildHealthUnit,
            ReceivingUnit = DemoRequests.SocialServicesUnit,
            Purpose = Purpose.Referral,
            Categories = [InformationCategory.FamilySituation, InformationCategory.ParentingSupport],
            SubjectId = subject,
            Content = text,
            ActingSystem = DemoRequests.ChildHealthClient,
            ActingUser = "SE2321000016-BVC1",
            SubmittedAt = DateTimeOffset.UtcNow,
        };
        int Size(SubmitDisclosure disclosure) => JsonSerializer.SerializeToUtf8Bytes(
            new TransportProbe { Sequence = 10_000, SentAt = Stopwatch.GetTimestamp(), Disclosure = disclosure }, ProbeJson.Options).Length;
        var bare = With(content);
        if (Size(bare) >= bodyBytes)
        {
            return bare;
        }
        // A note of plain letters inside the request's JSON: one letter is one byte on the wire, so the second try is exact.
        SubmitDisclosure Padded(int letters) => With(content[..^1] + ",\"note\":\"" + new string('x', Math.Max(0, letters)) + "\"}");
        var letters = bodyBytes - Size(bare);
        return Padded(letters - (Size(Padded(letters)) - bodyBytes));
    }
}

internal static class ProbeJson
{
    /// <summary>What MassTransit's System.Text.Json serializer writes too: camelCase names, enums as their names.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
}

/// <summary>
/// Per sequence number, when it was consumed and its latency; thread-safe without locks, in chunks allocated as the
/// sequence grows, so that counting costs the same few nanoseconds per message for both clients.
/// </summary>
internal sealed class ProbeTally
{
    private const int ChunkBits = 16;
    private const long Mask = (1 << ChunkBits) - 1;
    private readonly long[]?[] consumedAt = new long[]?[1 << 14];
    private readonly long[]?[] latency = new long[]?[1 << 14];
    private long consumed;
    private long duplicates;
    private long wireBytes;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, TaskCompletionSource> arrivals = new();

    public long Consumed => Interlocked.Read(ref consumed);

    public long Duplicates => Interlocked.Read(ref duplicates);

    /// <summary>The size of one message's body as the broker delivered it, envelope included.</summary>
    public long WireBytes => Interlocked.Read(ref wireBytes);

    public void Record(TransportProbe probe, long bodyLength)
    {
        var now = Stopwatch.GetTimestamp();
        var sequence = probe.Sequence;
        if (Interlocked.CompareExchange(ref Chunk(consumedAt, sequence)[sequence & Mask], now, 0) != 0)
        {
            Interlocked.Increment(ref duplicates);
            return;
        }
        Chunk(latency, sequence)[sequence & Mask] = now - probe.SentAt;
        Interlocked.Exchange(ref wireBytes, bodyLength);
        Interlocked.Increment(ref consumed);
        if (!arrivals.IsEmpty && arrivals.TryRemove(sequence, out var arrival))
        {
            arrival.TrySetResult();
        }
    }

    /// <summary>Completes when <paramref name="sequence"/> is first consumed; ask before publishing it.</summary>
    public Task ArrivalOf(long sequence)
    {
        // Asynchronous continuations: the publisher's next round must not run inside the consumer's callback.
        var arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        arrivals[sequence] = arrival;
        return arrival.Task;
    }

    /// <summary>Latencies in milliseconds, sorted, of the messages consumed in [from, to).</summary>
    public double[] LatenciesBetween(long from, long to, long issued)
    {
        var result = new List<double>();
        for (var sequence = 1L; sequence <= issued; sequence++)
        {
            var at = consumedAt[sequence >> ChunkBits]?[sequence & Mask] ?? 0;
            if (at >= from && at < to)
            {
                result.Add(latency[sequence >> ChunkBits]![sequence & Mask] * 1000.0 / Stopwatch.Frequency);
            }
        }
        result.Sort();
        return [.. result];
    }

    /// <summary>Sequence numbers issued, confirmed (not among <paramref name="failed"/>) and never consumed.</summary>
    public long Missing(long issued, HashSet<long> failed)
    {
        var missing = 0L;
        for (var sequence = 1L; sequence <= issued; sequence++)
        {
            if ((consumedAt[sequence >> ChunkBits]?[sequence & Mask] ?? 0) == 0 && !failed.Contains(sequence))
            {
                missing++;
            }
        }
        return missing;
    }

    public long ConsumedAmong(HashSet<long> sequences) =>
        sequences.LongCount(sequence => (consumedAt[sequence >> ChunkBits]?[sequence & Mask] ?? 0) != 0);

    private static long[] Chunk(long[]?[] chunks, long sequence)
    {
        var index = sequence >> ChunkBits;
        return Volatile.Read(ref chunks[index]) ?? Interlocked.CompareExchange(ref chunks[index], new long[1 << ChunkBits], null) ?? chunks[index]!;
    }
}

internal interface IProbeTransport : IAsyncDisposable
{
    /// <summary>Returns once the broker has confirmed the message; throws when it refused it.</summary>
    Task PublishAsync(TransportProbe probe, CancellationToken cancellationToken);
}

/// <summary>
/// RabbitMQ.Client 7 alone, as a careful hand would use it: one connection, a publishing channel with confirms and the
/// library's tracking (each publish returns when confirmed, and several may be pending on the channel at once), the
/// probe serialized with System.Text.Json, persistent, to the quorum queue through the default exchange; a consuming
/// channel with manual acknowledgement, prefetch and dispatch concurrency equal to the in-flight count.
/// </summary>
internal sealed class RawTransport(IConnection connection, IChannel publisher, IChannel consumer, string queue) : IProbeTransport
{
    private static readonly BasicProperties Persistent = new() { Persistent = true, ContentType = "application/json" };

    public static async Task<RawTransport> StartAsync(BrokerTarget broker, string queue, int inFlight, ProbeTally tally, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            VirtualHost = broker.VirtualHost,
            UserName = broker.User,
            Password = broker.Password,
            ClientProvidedName = "bench-transport",
        };
        var connection = await factory.CreateConnectionAsync(cancellationToken);
        var publisher = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        await publisher.QueueDeclareAsync(
            queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" },
            cancellationToken: cancellationToken);
        var consuming = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false, consumerDispatchConcurrency: (ushort)inFlight),
            cancellationToken);
        await consuming.BasicQosAsync(0, (ushort)inFlight, global: false, cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(consuming);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var probe = JsonSerializer.Deserialize<TransportProbe>(delivery.Body.Span, ProbeJson.Options)!;
            tally.Record(probe, delivery.Body.Length);
            await consuming.BasicAckAsync(delivery.DeliveryTag, multiple: false, delivery.CancellationToken);
        };
        await consuming.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);
        return new RawTransport(connection, publisher, consuming, queue);
    }

    public async Task PublishAsync(TransportProbe probe, CancellationToken cancellationToken) =>
        await publisher.BasicPublishAsync(
            exchange: "", routingKey: queue, mandatory: true, basicProperties: Persistent,
            body: JsonSerializer.SerializeToUtf8Bytes(probe, ProbeJson.Options), cancellationToken: cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await consumer.CloseAsync();
        await publisher.CloseAsync();
        await connection.CloseAsync();
        consumer.Dispose();
        publisher.Dispose();
        connection.Dispose();
    }
}

/// <summary>
/// MassTransit 8.5 on RabbitMQ as the services set it up (services/ServiceDefaults/Messaging): publisher confirmation
/// on, usage telemetry off, a consumer resolved from the container on a quorum receive endpoint, no fault events.
/// Without the services' retry, timeout and outbox filters (the transport alone), or with them.
/// The message is published (its type's exchange, bound to the endpoint's exchange, bound to the queue).
/// </summary>
internal sealed class MassTransitTransport(ServiceProvider services, IBusControl bus) : IProbeTransport
{
    public static async Task<MassTransitTransport> StartAsync(
        BrokerTarget broker, string queue, int inFlight, ProbeTally tally, bool hubFilters, CancellationToken cancellationToken)
    {
        // MassTransit's usage tracker lets this variable override DisableUsageTelemetry; nothing goes to the vendor.
        Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");
        var collection = new ServiceCollection();
        collection.AddSingleton(tally);
        collection.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        collection.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        collection.AddMassTransit(x =>
        {
            x.AddConsumer<ProbeConsumer>();
            x.DisableUsageTelemetry();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(broker.Host, (ushort)broker.Port, broker.VirtualHost, h =>
                {
                    h.Username(broker.User);
                    h.Password(broker.Password);
                    h.PublisherConfirmation = true;
                });
                cfg.ReceiveEndpoint(queue, e =>
                {
                    e.SetQuorumQueue();
                    e.PrefetchCount = inFlight;
                    e.ConcurrentMessageLimit = inFlight;
                    e.PublishFaults = false;
                    if (hubFilters)
                    {
                        // As MessagingExtensions.AddHubMessaging sets every endpoint (its error pipe acts on faults only).
                        e.UseMessageRetry(r => r.Intervals(100, 500, 2000, 5000, 10000));
                        e.UseMessageRetry(r =>
                        {
                            r.Handle<Npgsql.NpgsqlException>(exception => exception.IsTransient);
                            r.Handle<TimeoutException>();
                            r.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));
                        });
                        e.UseTimeout(t => t.Timeout = TimeSpan.FromSeconds(30));
                        e.UseInMemoryOutbox(context);
                    }
                    e.ConfigureConsumer<ProbeConsumer>(context);
                });
            });
        });
        var services = collection.BuildServiceProvider();
        var bus = services.GetRequiredService<IBusControl>();
        try
        {
            await bus.StartAsync(cancellationToken);
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
        return new MassTransitTransport(services, bus);
    }

    public Task PublishAsync(TransportProbe probe, CancellationToken cancellationToken) => bus.Publish(probe, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await bus.StopAsync(CancellationToken.None);
        await services.DisposeAsync();
    }
}

internal sealed class ProbeConsumer(ProbeTally tally) : IConsumer<TransportProbe>
{
    public Task Consume(ConsumeContext<TransportProbe> context)
    {
        tally.Record(context.Message, context.ReceiveContext.Body.Length ?? 0);
        return Task.CompletedTask;
    }
}
