using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FamiljecentralHub.Operations.Status;

/// <summary>
/// Keeps the sender's status view. Events may arrive twice or out of order (a redelivery, a slow gate), so a status
/// only ever moves forward and each timestamp is written once. That also lets the writes of many events share one
/// commit (<see cref="GroupCommit"/>): the order in which they are applied does not matter.
/// </summary>
/// <remarks>
/// Only the sender's own submission and the gate's events make a message's row, and with it the two units every later
/// step must name. A receiving service's steps only move a row that is there: a message id can be guessed (from a
/// guessable Idempotency-Key), and a compromised receiver must not make the row first and so keep the true message's
/// steps out of the sender's view. A receiver's step that finds no row yet may simply be ahead of the gate's decision
/// (two services publish them): it is retried, and parked if the row never comes (docs/error-queues.md).
/// </remarks>
internal sealed partial class StatusChangedConsumer(
    GroupCommit writes, NpgsqlDataSource db, OrganisationRegistry registry, OperationDescriptor descriptor, ILogger<StatusChangedConsumer> logger)
    : IConsumer<DisclosureStatusChanged>
{
    /// <summary>How a lifecycle step moves a row; `excluded` is the step, as ON CONFLICT names it.</summary>
    private const string Moves =
        """
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
        """;

    // The row was written at submission or by the gate: a step between another pair of units is not a step of this message.
    private const string SameUnits = "sent_messages.sending_unit = excluded.sending_unit AND sent_messages.receiving_unit = excluded.receiving_unit";

    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        var e = context.Message;
        if (registry.FindUnit(e.SendingUnit) is not { } unit || !descriptor.Hosts(unit))
        {
            return; // another service's message
        }

        if (!StatusEventOrigin.Accept(context, registry, logger))
        {
            return;
        }

        // Accept has checked that the broker vouches for this publisher.
        var fromGate = StatusRoutes.Parse(StatusEventOrigin.RoutingKeyOf(context.ReceiveContext))?.Publisher == Catalogue.Consent.Name;
        var moved = await writes.ExecuteAsync(e.Status == DisclosureStatus.Conflict ? Conflict(e, fromGate) : Step(e, fromGate), context.CancellationToken);
        if (moved == 0 && !fromGate)
        {
            await NoRowMovedAsync(e, context.CancellationToken);
        }
    }

    /// <summary>
    /// Another body under this message's id, not delivered: the sender sees when, while the status of the message the
    /// gate decided stands. Should that message's row be missing, the gate's conflict alone makes one, ranked below every
    /// lifecycle step so the decided message's own events still take it over; a receiver's conflict only marks a row.
    /// </summary>
    private static GroupedStatement Conflict(DisclosureStatusChanged e, bool fromGate) => new(e.MessageId,
        fromGate
            ? """
              INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank,
                                         reasons, conflict_at, updated_at)
              VALUES (@MessageId, @SendingUnit, @ReceivingUnit, @Purpose, @SubjectPseudonym, @Status, @Rank, @Reasons, @OccurredAt, @OccurredAt)
              ON CONFLICT (message_id) DO UPDATE SET
                  conflict_at = COALESCE(sent_messages.conflict_at, excluded.conflict_at),
                  updated_at  = GREATEST(sent_messages.updated_at, excluded.updated_at)
              """
            : """
              UPDATE sent_messages SET
                  conflict_at = COALESCE(conflict_at, @OccurredAt),
                  updated_at  = GREATEST(updated_at, @OccurredAt)
              WHERE message_id = @MessageId AND sending_unit = @SendingUnit AND receiving_unit = @ReceivingUnit
              """,
        [.. Common(e), GroupedParameter.Of("OccurredAt", e.OccurredAt)]);

    private static GroupedStatement Step(DisclosureStatusChanged e, bool fromGate) => new(e.MessageId,
        fromGate
            ? $"""
               INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank,
                                          reasons, basis, decided_at, delivered_at, acknowledged_at, withdrawn_at, updated_at)
               VALUES (@MessageId, @SendingUnit, @ReceivingUnit, @Purpose, @SubjectPseudonym, @Status, @Rank,
                       @Reasons, @Basis, @DecidedAt, @DeliveredAt, @AcknowledgedAt, @WithdrawnAt, @OccurredAt)
               ON CONFLICT (message_id) DO UPDATE SET
               {Moves}
               WHERE {SameUnits}
               """
            : $"""
               UPDATE sent_messages SET
               {Moves}
               FROM (SELECT @MessageId AS message_id, @SendingUnit AS sending_unit, @ReceivingUnit AS receiving_unit, @Status AS status,
                            @Rank AS status_rank, @Reasons AS reasons, @Basis AS basis, @DecidedAt AS decided_at, @DeliveredAt AS delivered_at,
                            @AcknowledgedAt AS acknowledged_at, @WithdrawnAt AS withdrawn_at, @OccurredAt AS updated_at) AS excluded
               WHERE sent_messages.message_id = excluded.message_id AND {SameUnits}
               """,
        [
            .. Common(e),
            GroupedParameter.Of("Basis", e.Basis),
            GroupedParameter.Of("DecidedAt", e.Status is DisclosureStatus.Permitted or DisclosureStatus.Refused ? e.OccurredAt : null),
            GroupedParameter.Of("DeliveredAt", e.Status == DisclosureStatus.Delivered ? e.OccurredAt : null),
            GroupedParameter.Of("AcknowledgedAt", e.Status == DisclosureStatus.Acknowledged ? e.OccurredAt : null),
            GroupedParameter.Of("WithdrawnAt", e.Status == DisclosureStatus.Withdrawn ? e.OccurredAt : null),
            GroupedParameter.Of("OccurredAt", e.OccurredAt),
        ]);

    /// <summary>
    /// A receiver's step that moved nothing: a row between other units (not this message's step: settled, with a
    /// warning), or no row yet, when the gate's decision and the sender's own record are both still behind it: retried.
    /// </summary>
    private async Task NoRowMovedAsync(DisclosureStatusChanged e, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM sent_messages WHERE message_id = @id)", connection);
        command.Parameters.Add(GroupedParameter.Of("id", e.MessageId));
        if (await command.ExecuteScalarAsync(cancellationToken) is not true)
        {
            throw new MetadataOnlyException($"Status {e.Status} of message {e.MessageId} came before the message's row: retried until the gate's decision makes it");
        }

        LogOtherUnits(logger, e.MessageId, e.Status);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Status {Status} of message {MessageId} names other units than the message's: not taken")]
    private static partial void LogOtherUnits(ILogger logger, Guid messageId, DisclosureStatus status);

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
