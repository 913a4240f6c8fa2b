using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// Stores what the gate delivers in the receiving unit's inbox, once per message id whatever the redeliveries, then
/// tells the sender. A delivery that relies on a consent revoked meanwhile is not stored but withdrawn: the gate may
/// have decided just before the revocation. The status event leaves only after the row is committed (in-memory
/// outbox); on a redelivery it is published again, which the status view absorbs.
/// </summary>
internal sealed class DeliverDisclosureConsumer(NpgsqlDataSource db, Pseudonymizer pseudonyms, TimeProvider clock) : IConsumer<DeliverDisclosure>
{
    public async Task Consume(ConsumeContext<DeliverDisclosure> context)
    {
        var d = context.Message.Disclosure;
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        await using var tx = await connection.BeginTransactionAsync(context.CancellationToken);
        if (context.Message.ConsentId is { } consentId)
        {
            // Serialised with ConsentRevokedConsumer on the same consent: either the revocation sees this row and
            // withdraws it, or this sees the revocation and does not store.
            await connection.ExecuteAsync(ConsentLock.Sql, new { consentId }, tx);
        }

        var deliveredAt = await connection.QuerySingleOrDefaultAsync<DateTimeOffset?>(
            """
            WITH inserted AS (
                INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis,
                                   consent_id, trace_id, submitted_at, delivered_at)
                SELECT @MessageId, @ReceivingUnit, @SendingUnit, @Purpose, @Categories, @SubjectId, @Content::jsonb, @Basis,
                       @ConsentId, @TraceId, @SubmittedAt, @Now
                WHERE NOT EXISTS (SELECT 1 FROM revoked_consents WHERE consent_id = @ConsentId)
                ON CONFLICT (message_id) DO NOTHING
                RETURNING delivered_at)
            SELECT delivered_at FROM inserted
            UNION ALL SELECT delivered_at FROM inbox WHERE message_id = @MessageId AND withdrawn_at IS NULL
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
                Now = clock.GetUtcNow(),
            },
            tx);
        await tx.CommitAsync(context.CancellationToken);

        await context.Publish(new DisclosureStatusChanged
        {
            MessageId = d.MessageId,
            Status = deliveredAt is null ? DisclosureStatus.Withdrawn : DisclosureStatus.Delivered,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            Purpose = d.Purpose,
            SubjectPseudonym = pseudonyms.For(d.SubjectId),
            Basis = context.Message.Basis,
            Categories = d.Categories,
            Reasons = deliveredAt is null ? ["the consent was revoked before delivery"] : [],
            OccurredAt = deliveredAt ?? clock.GetUtcNow(),
        });
    }
}

internal static class ConsentLock
{
    /// <summary>A transaction-scoped lock per consent, shared by delivery and revocation.</summary>
    public const string Sql = "SELECT pg_advisory_xact_lock(hashtextextended(@consentId::text, 7349120003))";
}
