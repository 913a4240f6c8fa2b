using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Flows;

/// <summary>
/// Follows every message's lifecycle from its metadata-only events: the ops view of the hub never sees a body, a
/// name or an identity number, only unit ids, purposes, statuses and the subject's pseudonym.
/// </summary>
internal sealed class FlowConsumer(NpgsqlDataSource db, OrganisationRegistry registry) : IConsumer<DisclosureStatusChanged>
{
    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        var e = context.Message;
        var sender = registry.FindUnit(e.SendingUnit);
        var receiver = registry.FindUnit(e.ReceivingUnit);
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        // One row per message and status: a redelivered event changes nothing.
        await connection.ExecuteAsync(
            """
            INSERT INTO message_events (message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation,
                                        family_centre, purpose, subject_pseudonym, basis, reasons, occurred_at)
            VALUES (@MessageId, @Status, @SendingUnit, @ReceivingUnit, @SendingOperation, @ReceivingOperation,
                    @FamilyCentre, @Purpose, @SubjectPseudonym, @Basis, @Reasons, @OccurredAt)
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
    }
}

/// <summary>Ops follows every unit's messages, by their outcomes.</summary>
internal sealed class FlowConsumerDefinition : ConsumerDefinition<FlowConsumer>
{
    public FlowConsumerDefinition() => EndpointName = Queues.Flows;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<FlowConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Outcomes, not steps: a delivery implies the permit, so Ops skips the Permitted event of every message. A failed
        // delivery is an outcome until a redrive delivers it: both stay in the message's trail. A conflict (another body
        // under a decided id, never delivered) is one operations must see.
        endpointConfigurator.BindStatusEvents(["*.Refused", "*.Delivered", "*.DeliveryFailed", "*.Withdrawn", "*.Acknowledged", "*.Conflict"]);
    }
}
