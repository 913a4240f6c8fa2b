using System.Diagnostics.Metrics;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using MassTransit;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// Stores what the gate delivers in the receiving unit's inbox, once per message id whatever the redeliveries, then
/// tells the sender. A delivery that relies on a consent revoked meanwhile is not stored but withdrawn: the gate may
/// have decided just before the revocation. The status event leaves only after the row is committed (in-memory
/// outbox); on a redelivery it is published again, which the status view absorbs. A redelivery counts only when it is
/// the same message (the same <see cref="SubmissionDigest"/>): another body under an id already stored never replaces
/// the row and is reported as a conflict.
/// </summary>
internal sealed class DeliverDisclosureConsumer(
    NpgsqlDataSource db, Pseudonymizer pseudonyms, InboxWaits waits, TimeProvider clock, ILogger<DeliverDisclosureConsumer> logger)
    : IConsumer<DeliverDisclosure>
{
    public async Task Consume(ConsumeContext<DeliverDisclosure> context)
    {
        var d = context.Message.Disclosure;
        var locked = context.Message.ConsentId is not null;
        var digest = SubmissionDigest.Of(d);
        // Serialised with ConsentRevokedConsumer on the same consent: either the revocation (or the change that took this
        // delivery's cover) sees this row and withdraws it, or this sees it and does not store. The lock and the insert go
        // as one command, which PostgreSQL runs as one transaction (committed before it answers): one round trip.
        StoredRow? stored;
        await using (var connection = await db.OpenConnectionAsync(context.CancellationToken))
        await using (var results = await connection.QueryMultipleAsync(new CommandDefinition(
            (locked ? ConsentLock.Sql + ";\n" : "") +
            """
            WITH inserted AS (
                INSERT INTO inbox (message_id, receiving_unit, sending_unit, purpose, categories, subject_id, content, basis,
                                   basis_evidence, consent_id, trace_id, submitted_at, delivered_at, digest)
                SELECT @MessageId, @ReceivingUnit, @SendingUnit, @Purpose, @Categories, @SubjectId, @Content::jsonb, @Basis,
                       @BasisEvidence::jsonb, @ConsentId, @TraceId, @SubmittedAt, @Now, @Digest
                WHERE NOT EXISTS (SELECT 1 FROM revoked_consents WHERE consent_id = @ConsentId)
                  AND NOT EXISTS (SELECT 1 FROM withdrawn_deliveries WHERE message_id = @MessageId)
                ON CONFLICT (message_id) DO NOTHING
                RETURNING delivered_at, withdrawn_at, true AS same)
            SELECT delivered_at AS DeliveredAt, withdrawn_at IS NOT NULL AS Withdrawn, same AS Same, true AS Inserted FROM inserted
            UNION ALL
            SELECT delivered_at, withdrawn_at IS NOT NULL,
                   COALESCE(digest = @Digest,
                            receiving_unit = @ReceivingUnit AND sending_unit = @SendingUnit AND subject_id = @SubjectId
                            AND purpose = @Purpose AND content = @Content::jsonb),
                   false
            FROM inbox WHERE message_id = @MessageId
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
                BasisEvidence = BasisEvidence.StoredOf(context.Message),
                context.Message.ConsentId,
                TraceId = TelemetryExtensions.CurrentTraceId(),
                d.SubmittedAt,
                Now = clock.GetUtcNow(),
                Digest = digest,
            },
            cancellationToken: context.CancellationToken)))
        {
            if (locked)
            {
                await results.ReadAsync();
            }

            stored = await results.ReadSingleOrDefaultAsync<StoredRow>();
        } // disposed: the command's transaction has committed, or this threw

        if (stored is { Same: false })
        {
            // Another message already holds this id here. Only the gate may deliver, and it delivers only what it decided,
            // so this is a fault upstream: the row stays as it is, and operations are told, metadata only.
            logger.LogWarning("A different delivery arrived for message {MessageId}, which the inbox already holds; it was not stored", d.MessageId);
            await context.Publish(StatusOf(context.Message, DisclosureStatus.Conflict, [ConflictReason], clock.GetUtcNow()));
            return;
        }

        var deliveredAt = stored is { Withdrawn: false } ? stored.DeliveredAt : null;
        if (stored is { Inserted: true } && deliveredAt is { } at)
        {
            // Submit → delivered, once per message (a redelivery finds the row and is not counted again).
            DeliveryLatency.Record(Math.Max(0, (at - d.SubmittedAt).TotalSeconds), new KeyValuePair<string, object?>("purpose", d.Purpose.ToString()));
            waits.Delivered(d.ReceivingUnit);
        }

        await context.Publish(StatusOf(
            context.Message,
            deliveredAt is null ? DisclosureStatus.Withdrawn : DisclosureStatus.Delivered,
            deliveredAt is null ? [ReceiverReasons.RevokedBeforeDelivery] : [],
            deliveredAt ?? clock.GetUtcNow()));
    }

    private static readonly Histogram<double> DeliveryLatency = TelemetryExtensions.Meter.CreateHistogram<double>(
        "hub.delivery.latency", unit: "s", description: "From the sender's submission to the receiving inbox, by purpose.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });

    private const string ConflictReason = ReceiverReasons.AnotherDelivered;

    private DisclosureStatusChanged StatusOf(DeliverDisclosure delivery, DisclosureStatus status, IReadOnlyList<string> reasons, DateTimeOffset at) => new()
    {
        MessageId = delivery.Disclosure.MessageId,
        Status = status,
        SendingUnit = delivery.Disclosure.SendingUnit,
        ReceivingUnit = delivery.Disclosure.ReceivingUnit,
        Purpose = delivery.Disclosure.Purpose,
        SubjectPseudonym = pseudonyms.For(delivery.Disclosure.SubjectId),
        Basis = delivery.Basis,
        Categories = delivery.Disclosure.Categories,
        Reasons = reasons,
        OccurredAt = at,
        SubmittedAt = delivery.Disclosure.SubmittedAt,
    };

    private sealed class StoredRow
    {
        public DateTimeOffset? DeliveredAt { get; init; }
        public bool Withdrawn { get; init; }
        public bool Same { get; init; }

        /// <summary>Stored by this delivery, not found from an earlier one.</summary>
        public bool Inserted { get; init; }
    }
}

internal static class ConsentLock
{
    /// <summary>A transaction-scoped lock per consent, shared by delivery and revocation.</summary>
    public const string Sql = "SELECT pg_advisory_xact_lock(hashtextextended(@ConsentId::text, 7349120003))";
}
