using System.Diagnostics.Metrics;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// Who published a lifecycle event, and whether that service may say it (docs/broker-permissions.md, "Lifecycle
/// events"). The routing key names the publisher, and the broker's topic permissions let each service publish under its
/// own name only, so the key of a message published to the status exchange itself is the broker's word, not the
/// publisher's. A redriven event comes back through its queue's
/// redrive exchange; its key is then the one stamped on its error copy (<see cref="ErrorCopyFilter"/>), which only the
/// queue's owner can have written (as with <see cref="WayIn"/>).
/// </summary>
public static partial class StatusEventOrigin
{
    /// <summary>The header on an error copy that holds the routing key the message had first come in with.</summary>
    public const string RoutingKeyHeader = "Hub-Routing-Key";

    private static readonly Counter<long> Refused = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.status_events.refused", description: "Lifecycle events not taken: a publisher that may not say them, or a key and event that disagree.");

    /// <summary>The routing key of the message being received, as the broker vouches for it; null when there is none.</summary>
    public static string? RoutingKeyOf(ReceiveContext context)
    {
        if (!context.TryGetPayload(out RabbitMqBasicConsumeContext? rabbit))
        {
            return null;
        }

        if (!Queues.IsRedriveExchange(rabbit.Exchange))
        {
            // The broker checks a topic permission only on a publish to the topic exchange itself: a message published to
            // an exchange of the publisher's own that is bound to it, or dead-lettered into it from a queue of its own,
            // carries whatever key the publisher chose. Such a message names the first exchange, or carries x-death.
            var published = rabbit.Exchange == Queues.StatusExchange && rabbit.Properties.Headers?.ContainsKey("x-death") != true;
            return published ? rabbit.RoutingKey : null;
        }

        // As with the way in: exactly one stamp, in any case, or none at all.
        var stamps = (rabbit.Properties.Headers ?? new Dictionary<string, object?>())
            .Where(header => string.Equals(header.Key, RoutingKeyHeader, StringComparison.OrdinalIgnoreCase))
            .Select(header => WayIn.AsText(header.Value))
            .ToList();
        return stamps is [{ Length: > 0 } stamp] ? stamp : null;
    }

    /// <summary>
    /// Null when the event may be taken: its key names a publisher that may say this status about a message to this
    /// receiver, and agrees with the event on the sender and the status. Otherwise why not, as a fixed phrase.
    /// </summary>
    public static string? Refusal(ConsumeContext<DisclosureStatusChanged> context, OrganisationRegistry registry) =>
        Refusal(context.ReceiveContext, context.Message, registry);

    /// <summary>The same for <paramref name="e"/>, one of the changes of the message being received.</summary>
    public static string? Refusal(ReceiveContext context, DisclosureStatusChanged e, OrganisationRegistry registry)
    {
        if (StatusRoutes.Parse(RoutingKeyOf(context)) is not { } key)
        {
            return "no routing key the broker vouches for";
        }

        if (key.Status != e.Status.ToString() || key.SendingUnit != e.SendingUnit || key.SenderService != SenderServiceOf(registry, e.SendingUnit))
        {
            return "routing key and event disagree";
        }

        var receiverService = registry.FindUnit(e.ReceivingUnit) is { } receiver ? Catalogue.ServiceFor(receiver.Operation).Name : null;
        return StatusRoutes.MayPublish(key.Publisher, key.Status, receiverService) ? null : "published by a service that may not say it";
    }

    /// <summary>The service whose unit sent the message, as the routing key names it.</summary>
    public static string SenderServiceOf(OrganisationRegistry registry, string sendingUnit) =>
        registry.FindUnit(sendingUnit) is { } unit ? Catalogue.ServiceFor(unit.Operation).Name : StatusRoutes.UnknownService;

    /// <summary>
    /// Takes the event when <see cref="Refusal"/> finds nothing against it. A refused event is settled, not parked: it is
    /// an attack or a fault in a publisher, and redriving it would change nothing; the warning and the counter say so,
    /// by message id, status and the key's publisher only.
    /// </summary>
    public static bool Accept(ConsumeContext<DisclosureStatusChanged> context, OrganisationRegistry registry, ILogger logger) =>
        Accept(context.ReceiveContext, context.Message, registry, logger);

    /// <summary>
    /// The changes of <paramref name="context"/>'s message that may be taken, each checked as if it had come alone (the
    /// key vouches for one sending unit and status, so a change naming others is refused, not the rest with it), each message
    /// once; none of one with more than <see cref="DisclosureStatusesChanged.MaxChanges"/>.
    /// </summary>
    public static IReadOnlyList<DisclosureStatusChanged> Accepted(ConsumeContext<DisclosureStatusesChanged> context, OrganisationRegistry registry, ILogger logger)
    {
        var changes = context.Message.Changes ?? [];
        if (changes.Count > DisclosureStatusesChanged.MaxChanges)
        {
            const string reason = "more changes than one event may carry";
            Refused.Add(changes.Count, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("publisher", PublisherOf(context.ReceiveContext)));
            LogBatchRefused(logger, context.MessageId ?? Guid.Empty, PublisherOf(context.ReceiveContext), reason);
            return [];
        }

        return [.. changes.Where(e => e is not null && Accept(context.ReceiveContext, e, registry, logger)).DistinctBy(e => e.MessageId)];
    }

    private static bool Accept(ReceiveContext context, DisclosureStatusChanged e, OrganisationRegistry registry, ILogger logger)
    {
        if (Refusal(context, e, registry) is not { } reason)
        {
            return true;
        }

        Refuse(context, e.MessageId, e.Status, reason, logger);
        return false;
    }

    private static void Refuse(ReceiveContext context, Guid messageId, DisclosureStatus status, string reason, ILogger logger)
    {
        var publisher = PublisherOf(context);
        Refused.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("publisher", publisher));
        LogRefused(logger, messageId, status, publisher, reason);
    }

    /// <summary>A service's name or "unknown": the counter's tags and the log take no word a publisher chose.</summary>
    private static string PublisherOf(ReceiveContext context) =>
        Catalogue.Find(StatusRoutes.Parse(RoutingKeyOf(context))?.Publisher ?? "")?.Name ?? "unknown";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle event {MessageId} {Status} from {Publisher} not taken: {Reason}")]
    private static partial void LogRefused(ILogger logger, Guid messageId, DisclosureStatus status, string publisher, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle events {EventId} from {Publisher} not taken: {Reason}")]
    private static partial void LogBatchRefused(ILogger logger, Guid eventId, string publisher, string reason);
}
