using System.Diagnostics.Metrics;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Flows;

/// <summary>
/// Follows every message's lifecycle from its metadata-only events: the ops view of the hub never sees a body, a
/// name or an identity number, only unit ids, purposes, statuses and the subject's pseudonym. A step is written once
/// whatever the order or number of its events, so the writes of many events share one commit (<see cref="GroupCommit"/>).
/// </summary>
internal sealed class FlowConsumer(GroupCommit writes, OrganisationRegistry registry, ILogger<FlowConsumer> logger)
    : IConsumer<DisclosureStatusChanged>, IConsumer<DisclosureStatusesChanged>
{
    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        if (StatusEventOrigin.Accept(context, registry, logger))
        {
            await Record(context, context.Message);
        }
    }

    /// <summary>A page's acknowledgements: written together, so they share the commits of one batch.</summary>
    public Task Consume(ConsumeContext<DisclosureStatusesChanged> context) =>
        Task.WhenAll(StatusEventOrigin.Accepted(context, registry, logger).Select(e => Record(context, e)));

    private async Task Record(ConsumeContext context, DisclosureStatusChanged e)
    {
        var sender = registry.FindUnit(e.SendingUnit);
        var receiver = registry.FindUnit(e.ReceivingUnit);
        // Accept has checked that the broker vouches for this publisher. What else the event says is held to its shape
        // (EventFields): it stands in the console's views and, the basis, in /metrics.
        var publisher = EventFields.PublisherOf(context.ReceiveContext);
        var reasons = EventFields.Reasons(publisher, e.Reasons);
        var basis = EventFields.Basis(e.Basis);
        // One row per message and status: a redelivered event changes nothing. The step and the message's row in one
        // statement, one round trip: the row moves only with a step that was new.
        var moved = await writes.ExecuteAsync(new GroupedStatement(e.MessageId,
            """
            WITH step AS (
                INSERT INTO message_events (message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation,
                                            family_centre, purpose, subject_pseudonym, basis, reasons, occurred_at, publisher, submitted_at)
                SELECT @MessageId, @Status, @SendingUnit, @ReceivingUnit, @SendingOperation, @ReceivingOperation,
                       @FamilyCentre, @Purpose, @SubjectPseudonym, @Basis, @Reasons, @OccurredAt, @Publisher, @SubmittedAt
                -- Every step of one message is between the same two units: a step naming others is not a step of this message.
                -- A conflict names the other body's units by design: it says that body was not delivered.
                WHERE @Status = 'Conflict'
                   OR NOT EXISTS (SELECT 1 FROM message_events
                                  WHERE message_id = @MessageId AND status <> 'Conflict'
                                    AND (sending_unit <> @SendingUnit OR receiving_unit <> @ReceivingUnit))
                ON CONFLICT (message_id, status) DO NOTHING
                RETURNING 1)
            INSERT INTO messages (message_id, sending_unit, receiving_unit, sending_operation, receiving_operation, family_centre, purpose,
                                  subject_pseudonym, basis, status, submitted_at, sent_at, last_at)
            SELECT @MessageId, @SendingUnit, @ReceivingUnit, @SendingOperation, @ReceivingOperation, @FamilyCentre, @Purpose, @SubjectPseudonym, @Basis, @Status,
                   @SubmittedAt, COALESCE(@SubmittedAt, @OccurredAt), @OccurredAt
            FROM step WHERE @Status <> 'Conflict'
            ON CONFLICT (message_id) DO UPDATE SET
                -- Events may arrive in any order: the latest step is the message's status.
                status = CASE WHEN EXCLUDED.last_at >= messages.last_at THEN EXCLUDED.status ELSE messages.status END,
                basis = COALESCE(messages.basis, EXCLUDED.basis),
                submitted_at = COALESCE(messages.submitted_at, EXCLUDED.submitted_at),
                sent_at = LEAST(messages.sent_at, EXCLUDED.sent_at),
                last_at = GREATEST(messages.last_at, EXCLUDED.last_at)
            """,
            [
                GroupedParameter.Of("MessageId", e.MessageId),
                GroupedParameter.Of("Status", e.Status.ToString()),
                GroupedParameter.Of("SendingUnit", e.SendingUnit),
                GroupedParameter.Of("ReceivingUnit", e.ReceivingUnit),
                GroupedParameter.Of("SendingOperation", sender?.Operation.ToString() ?? "unknown"),
                GroupedParameter.Of("ReceivingOperation", receiver?.Operation.ToString() ?? "unknown"),
                GroupedParameter.Of("FamilyCentre", sender?.FamilyCentre ?? receiver?.FamilyCentre),
                GroupedParameter.Of("Purpose", e.Purpose.ToString()),
                GroupedParameter.Of("SubjectPseudonym", e.SubjectPseudonym),
                GroupedParameter.Of("Basis", basis),
                GroupedParameter.Of("Reasons", reasons),
                GroupedParameter.Of("OccurredAt", e.OccurredAt),
                GroupedParameter.Of("Publisher", publisher),
                GroupedParameter.Of("SubmittedAt", e.SubmittedAt),
            ]),
            context.CancellationToken);
        if (moved > 0)
        {
            // Once per message and status (a new step moves the message's row), whatever the redeliveries. Purpose, basis
            // and status only: never a unit's subject, nor the pseudonym (domain.md section 8).
            Messages.Add(1, new("status", e.Status.ToString()), new("purpose", e.Purpose.ToString()), new("basis", basis ?? "none"));
        }
    }

    private static readonly Counter<long> Messages = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.messages", description: "Lifecycle steps by status, purpose and basis, as Ops recorded them (each message once per status).");
}

/// <summary>Ops follows every unit's messages, by their outcomes.</summary>
internal sealed class FlowConsumerDefinition : ConsumerDefinition<FlowConsumer>
{
    public FlowConsumerDefinition() => EndpointName = Queues.Flows;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<FlowConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Every step: the console's trail shows each one, and a message permitted but never delivered is what operations
        // must be alerted to. A failed delivery stays in the trail beside the delivery a redrive made; a conflict (another
        // body under a decided id, never delivered) is one operations must see.
        DisclosureStatus[] steps =
        [
            DisclosureStatus.Permitted, DisclosureStatus.Refused, DisclosureStatus.Delivered, DisclosureStatus.DeliveryFailed,
            DisclosureStatus.Withdrawn, DisclosureStatus.Acknowledged, DisclosureStatus.Conflict,
        ];
        endpointConfigurator.BindStatusEvents([.. steps.Select(status => StatusRoutes.Pattern(status: status.ToString()))]);
    }
}
