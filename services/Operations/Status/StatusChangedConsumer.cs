using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using MassTransit;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FamiljecentralHub.Operations.Status;

/// <summary>
/// Keeps the sender's status view. Events may arrive twice or out of order (a redelivery, a slow gate), so a status
/// only ever moves forward and each timestamp is written once. That also lets the writes of many events share one
/// commit (<see cref="GroupCommit"/>): the order in which they are applied does not matter.
/// </summary>
internal sealed class StatusChangedConsumer(
    GroupCommit writes, OrganisationRegistry registry, OperationDescriptor descriptor, ILogger<StatusChangedConsumer> logger)
    : IConsumer<DisclosureStatusChanged>, IConsumer<DisclosureStatusesChanged>
{
    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        if (Hosted(context.Message) && StatusEventOrigin.Accept(context, registry, logger))
        {
            await Record(context.Message, EventFields.PublisherOf(context.ReceiveContext), context.CancellationToken);
        }
    }

    /// <summary>A page's acknowledgements: written together, so they share the commits of one batch.</summary>
    public Task Consume(ConsumeContext<DisclosureStatusesChanged> context) =>
        Task.WhenAll(StatusEventOrigin.Accepted(context, registry, logger).Where(Hosted)
            .Select(e => Record(e, EventFields.PublisherOf(context.ReceiveContext), context.CancellationToken)));

    /// <summary>Whether the message is one of this service's units' (another service's is not its to show).</summary>
    private bool Hosted(DisclosureStatusChanged e) => registry.FindUnit(e.SendingUnit) is { } unit && descriptor.Hosts(unit);

    /// <param name="publisher">The service the broker vouches said it: what else the event says is held to its shape
    /// (<see cref="EventFields"/>), for a receiver's words are shown to the sender here.</param>
    private async Task Record(DisclosureStatusChanged e, string? publisher, CancellationToken cancellationToken)
    {
        e = e with { Reasons = EventFields.Reasons(publisher, e.Reasons), Basis = EventFields.Basis(e.Basis) };
        if (e.Status == DisclosureStatus.Conflict)
        {
            // Another body under this message's id, not delivered: the sender sees when, while the status of the message
            // the gate decided stands. Should that message's row be missing, the conflict alone makes one, ranked below
            // every lifecycle step so the decided message's own events still take it over.
            await writes.ExecuteAsync(new GroupedStatement(e.MessageId,
                """
                INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank,
                                           reasons, conflict_at, updated_at)
                VALUES (@MessageId, @SendingUnit, @ReceivingUnit, @Purpose, @SubjectPseudonym, @Status, @Rank, @Reasons, @OccurredAt, @OccurredAt)
                ON CONFLICT (message_id) DO UPDATE SET
                    conflict_at = COALESCE(sent_messages.conflict_at, excluded.conflict_at),
                    updated_at  = GREATEST(sent_messages.updated_at, excluded.updated_at)
                """,
                [.. Common(e), GroupedParameter.Of("OccurredAt", e.OccurredAt)]),
                cancellationToken);
            return;
        }

        await writes.ExecuteAsync(new GroupedStatement(e.MessageId,
            """
            INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank,
                                       reasons, basis, decided_at, delivered_at, acknowledged_at, withdrawn_at, updated_at)
            VALUES (@MessageId, @SendingUnit, @ReceivingUnit, @Purpose, @SubjectPseudonym, @Status, @Rank,
                    @Reasons, @Basis, @DecidedAt, @DeliveredAt, @AcknowledgedAt, @WithdrawnAt, @OccurredAt)
            ON CONFLICT (message_id) DO UPDATE SET
                status          = CASE WHEN excluded.status_rank > sent_messages.status_rank THEN excluded.status ELSE sent_messages.status END,
                status_rank     = GREATEST(excluded.status_rank, sent_messages.status_rank),
                reasons         = CASE
                                      -- a delivery failure already overtaken says nothing now; once overtaken, its reason goes
                                      WHEN excluded.status = 'DeliveryFailed' AND excluded.status_rank < sent_messages.status_rank THEN sent_messages.reasons
                                      WHEN sent_messages.status = 'DeliveryFailed' AND excluded.status_rank > sent_messages.status_rank THEN excluded.reasons
                                      WHEN cardinality(excluded.reasons) > 0 THEN excluded.reasons ELSE sent_messages.reasons END,
                basis           = COALESCE(sent_messages.basis, excluded.basis),
                decided_at      = COALESCE(sent_messages.decided_at, excluded.decided_at),
                delivered_at    = COALESCE(sent_messages.delivered_at, excluded.delivered_at),
                acknowledged_at = COALESCE(sent_messages.acknowledged_at, excluded.acknowledged_at),
                withdrawn_at    = COALESCE(sent_messages.withdrawn_at, excluded.withdrawn_at),
                updated_at      = GREATEST(sent_messages.updated_at, excluded.updated_at)
            -- The row was written at submission: a step between another pair of units is not a step of this message.
            -- (A conflict, above, names the other body's units by design: it says that body was not delivered.)
            WHERE sent_messages.sending_unit = excluded.sending_unit AND sent_messages.receiving_unit = excluded.receiving_unit
            """,
            [
                .. Common(e),
                GroupedParameter.Of("Basis", e.Basis),
                GroupedParameter.Of("DecidedAt", e.Status is DisclosureStatus.Permitted or DisclosureStatus.Refused ? e.OccurredAt : null),
                GroupedParameter.Of("DeliveredAt", e.Status == DisclosureStatus.Delivered ? e.OccurredAt : null),
                GroupedParameter.Of("AcknowledgedAt", e.Status == DisclosureStatus.Acknowledged ? e.OccurredAt : null),
                GroupedParameter.Of("WithdrawnAt", e.Status == DisclosureStatus.Withdrawn ? e.OccurredAt : null),
                GroupedParameter.Of("OccurredAt", e.OccurredAt),
            ]),
            cancellationToken);
    }

    private static IEnumerable<NpgsqlParameter> Common(DisclosureStatusChanged e) =>
    [
        GroupedParameter.Of("MessageId", e.MessageId),
        GroupedParameter.Of("SendingUnit", e.SendingUnit),
        GroupedParameter.Of("ReceivingUnit", e.ReceivingUnit),
        GroupedParameter.Of("Purpose", e.Purpose.ToString()),
        GroupedParameter.Of("SubjectPseudonym", e.SubjectPseudonym),
        GroupedParameter.Of("Status", e.Status.ToString()),
        GroupedParameter.Of("Rank", RankOf(e.Status)),
        GroupedParameter.Of("Reasons", e.Reasons.ToArray()),
    ];

    /// <summary>
    /// Permitted and refused are alternatives at one step; a failed delivery comes after the permit and is overtaken by
    /// the delivery a redrive makes; withdrawn ends a message whatever came before. Stored with each row: migration 0004
    /// renumbered rows written before DeliveryFailed took its place.
    /// </summary>
    internal static int RankOf(DisclosureStatus status) => status switch
    {
        DisclosureStatus.Conflict => -1,
        DisclosureStatus.Submitted => 0,
        DisclosureStatus.Permitted or DisclosureStatus.Refused => 1,
        DisclosureStatus.DeliveryFailed => 2,
        DisclosureStatus.Delivered => 3,
        DisclosureStatus.Acknowledged => 4,
        DisclosureStatus.Withdrawn => 5,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };
}
