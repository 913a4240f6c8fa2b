using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// Stores what the gate delivers in the receiving unit's inbox, once per message id whatever the redeliveries, then
/// tells the sender. The status event leaves only after the row is committed (in-memory outbox); on a redelivery it
/// is published again, which the status view absorbs.
/// </summary>
internal sealed class DeliverDisclosureConsumer(NpgsqlDataSource db, Pseudonymizer pseudonyms, TimeProvider clock) : IConsumer<DeliverDisclosure>
{
    public async Task Consume(ConsumeContext<DeliverDisclosure> context)
    {
        var d = context.Message.Disclosure;
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        var deliveredAt = await connection.QuerySingleAsync<DateTime>(
            """
            WITH inserted AS (
                INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis,
                                   consent_id, trace_id, submitted_at, delivered_at)
                VALUES (@MessageId, @ReceivingUnit, @SendingUnit, @Purpose, @Categories, @SubjectId, @Content::jsonb, @Basis,
                        @ConsentId, @TraceId, @SubmittedAt, @Now)
                ON CONFLICT (message_id) DO NOTHING
                RETURNING delivered_at)
            SELECT delivered_at FROM inserted
            UNION ALL SELECT delivered_at FROM inbox WHERE message_id = @MessageId
            LIMIT 1
            """,
            new
            {
                d.MessageId,
                d.ReceivingUnit,
                d.SendingUnit,
                Purpose = d.Purpose.ToString(),
                Categories = d.Categories.Select(c => c.ToString()).ToArray(),
                d.SubjectId,
                d.Content,
                context.Message.Basis,
                context.Message.ConsentId,
                TraceId = TelemetryExtensions.CurrentTraceId(),
                d.SubmittedAt,
                Now = now,
            });

        await context.Publish(new DisclosureStatusChanged
        {
            MessageId = d.MessageId,
            Status = DisclosureStatus.Delivered,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            Purpose = d.Purpose,
            SubjectPseudonym = pseudonyms.For(d.SubjectId),
            Basis = context.Message.Basis,
            OccurredAt = new DateTimeOffset(DateTime.SpecifyKind(deliveredAt, DateTimeKind.Utc)),
        });
    }
}
