using System.Diagnostics.Metrics;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
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
/// name or an identity number, only unit ids, purposes, statuses and the subject's pseudonym.
/// </summary>
internal sealed class FlowConsumer(NpgsqlDataSource db, OrganisationRegistry registry, ILogger<FlowConsumer> logger) : IConsumer<DisclosureStatusChanged>
{
    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        var e = context.Message;
        if (!StatusEventOrigin.Accept(context, registry, logger))
        {
            return;
        }

        var sender = registry.FindUnit(e.SendingUnit);
        var receiver = registry.FindUnit(e.ReceivingUnit);
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        // One row per message and status: a redelivered event changes nothing.
        var inserted = await connection.ExecuteAsync(
            """
            INSERT INTO message_events (message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation,
                                        family_centre, purpose, subject_pseudonym, basis, reasons, occurred_at)
            SELECT @MessageId, @Status, @SendingUnit, @ReceivingUnit, @SendingOperation, @ReceivingOperation,
                   @FamilyCentre, @Purpose, @SubjectPseudonym, @Basis, @Reasons, @OccurredAt
            -- Every step of one message is between the same two units: a step naming others is not a step of this message.
            -- A conflict names the other body's units by design: it says that body was not delivered.
            WHERE @Status = 'Conflict'
               OR NOT EXISTS (SELECT 1 FROM message_events
                              WHERE message_id = @MessageId AND status <> 'Conflict'
                                AND (sending_unit <> @SendingUnit OR receiving_unit <> @ReceivingUnit))
            ON CONFLICT (message_id, status) DO NOTHING
            """,
            new
            {
                e.MessageId,
                Status = e.Status.ToString(),
                e.SendingUnit,
                e.ReceivingUnit,
                SendingOperation = sender?.Operation.ToString() ?? "unknown",
                ReceivingOperation = receiver?.Operation.ToString() ?? "unknown",
                FamilyCentre = sender?.FamilyCentre ?? receiver?.FamilyCentre,
                Purpose = e.Purpose.ToString(),
                e.SubjectPseudonym,
                e.Basis,
                Reasons = e.Reasons.ToArray(),
                e.OccurredAt,
            });
        if (inserted > 0)
        {
            // Once per message and status, whatever the redeliveries. Purpose, basis and status only: never a unit's
            // subject, nor the pseudonym (domain.md section 8).
            Messages.Add(1, new("status", e.Status.ToString()), new("purpose", e.Purpose.ToString()), new("basis", e.Basis ?? "none"));
        }
    }

    private static readonly Counter<long> Messages = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.messages", description: "Lifecycle events by status, purpose and basis, as Ops recorded them (each message once per status).");
}

/// <summary>Ops follows every unit's messages, by their outcomes.</summary>
internal sealed class FlowConsumerDefinition : ConsumerDefinition<FlowConsumer>
{
    public FlowConsumerDefinition() => EndpointName = Queues.Flows;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<FlowConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Outcomes, and the permit: a message permitted and not delivered after Alerts:UndeliveredAfter is an alert
        // (Features/Alerts), which needs the permit's time; it costs one row and one event more per permitted message, and
        // /flows still counts outcomes only. A failed delivery is an outcome until a redrive delivers it: both stay in
        // the message's trail. A conflict (another body under a decided id, never delivered) is one operations must see.
        DisclosureStatus[] outcomes =
        [
            DisclosureStatus.Permitted, DisclosureStatus.Refused, DisclosureStatus.Delivered, DisclosureStatus.DeliveryFailed, DisclosureStatus.Withdrawn,
            DisclosureStatus.Acknowledged, DisclosureStatus.Conflict,
        ];
        endpointConfigurator.BindStatusEvents([.. outcomes.Select(status => StatusRoutes.Pattern(status: status.ToString()))]);
    }
}
