using Dapper;
using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// A revocation takes effect here at once (and a change that takes cover from some deliveries, for those alone): every message under the consent that the receiving system has not fetched
/// leaves the inbox as withdrawn (and its sender is told); what it already fetched is listed in a notice for it, and so
/// is what a push may have reached it with though it did not take it (withdrawn as well: never handed out again).
/// A row is either fetched or withdrawn, never both: fetching and withdrawing update the same row, so PostgreSQL
/// orders them.
/// </summary>
internal sealed class ConsentRevokedConsumer(NpgsqlDataSource db, OrganisationRegistry registry, OperationDescriptor descriptor, TimeProvider clock)
    : IConsumer<ConsentRevoked>
{
    public async Task Consume(ConsumeContext<ConsentRevoked> context)
    {
        var revoked = context.Message;
        if (!revoked.ReceivingUnits.Any(u => registry.FindUnit(u) is { } unit && descriptor.Hosts(unit)))
        {
            return; // nothing of ours relies on it
        }

        if (revoked.MessageIds is { } messageIds)
        {
            await WithdrawSomeAsync(context, revoked, messageIds.ToArray());
            return;
        }

        var consentId = revoked.ConsentId;
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        await using var tx = await connection.BeginTransactionAsync(context.CancellationToken);
        await connection.ExecuteAsync(ConsentLock.Sql, new { ConsentId = consentId }, tx);
        await connection.ExecuteAsync(
            "INSERT INTO revoked_consents (consent_id, revoked_at) VALUES (@consentId, @RevokedAt) ON CONFLICT DO NOTHING",
            new { consentId, revoked.RevokedAt }, tx);
        var withdrawn = (await connection.QueryAsync<WithdrawnRow>(
            """
            UPDATE inbox SET withdrawn_at = @now
            WHERE consent_id = @consentId AND fetched_at IS NULL AND acknowledged_at IS NULL AND withdrawn_at IS NULL
            RETURNING message_id AS MessageId, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
                      categories AS Categories, basis AS Basis
            """,
            new { consentId, now }, tx)).ToList();
        await connection.ExecuteAsync(
            $$"""
            INSERT INTO revocation_notices (receiving_unit, consent_id, message_ids, revoked_at)
            SELECT receiving_unit, @consentId, array_agg(message_id ORDER BY seq), @RevokedAt
            FROM inbox WHERE consent_id = @consentId AND {{Noticed}}
            GROUP BY receiving_unit
            ON CONFLICT (receiving_unit, consent_id) WHERE change_id IS NULL DO NOTHING
            """,
            new { consentId, revoked.RevokedAt, now }, tx);
        await tx.CommitAsync(context.CancellationToken);

        await PublishWithdrawnAsync(context, revoked, withdrawn, ReceiverReasons.Revoked, now);
    }

    /// <summary>
    /// The consent stands, but no longer covers these deliveries (a narrowing, a custody change, its end): the same as a
    /// revocation for them alone. Remembered by message id, so one still on its way here is not stored when it arrives.
    /// </summary>
    private async Task WithdrawSomeAsync(ConsumeContext<ConsentRevoked> context, ConsentRevoked change, Guid[] messageIds)
    {
        var consentId = change.ConsentId;
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        await using var tx = await connection.BeginTransactionAsync(context.CancellationToken);
        await connection.ExecuteAsync(ConsentLock.Sql, new { ConsentId = consentId }, tx);
        await connection.ExecuteAsync(
            """
            INSERT INTO withdrawn_deliveries (message_id, consent_id, withdrawn_at)
            SELECT m, @consentId, @RevokedAt FROM unnest(@messageIds) AS m ON CONFLICT DO NOTHING
            """,
            new { consentId, change.RevokedAt, messageIds }, tx);
        var withdrawn = (await connection.QueryAsync<WithdrawnRow>(
            """
            UPDATE inbox SET withdrawn_at = @now
            WHERE message_id = ANY(@messageIds) AND consent_id = @consentId
              AND fetched_at IS NULL AND acknowledged_at IS NULL AND withdrawn_at IS NULL
            RETURNING message_id AS MessageId, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
                      categories AS Categories, basis AS Basis
            """,
            new { consentId, now, messageIds }, tx)).ToList();
        // A consent's end is no news about what was fetched while it held: that was lawfully disclosed (no notice).
        if (!change.Lapsed)
        {
            await connection.ExecuteAsync(
                $$"""
                INSERT INTO revocation_notices (receiving_unit, consent_id, message_ids, revoked_at, change_id)
                SELECT receiving_unit, @consentId, array_agg(message_id ORDER BY seq), @RevokedAt, @ChangeId
                FROM inbox WHERE message_id = ANY(@messageIds) AND consent_id = @consentId
                  AND {{Noticed}}
                GROUP BY receiving_unit
                ON CONFLICT (receiving_unit, consent_id, change_id) WHERE change_id IS NOT NULL DO NOTHING
                """,
                new { consentId, change.RevokedAt, ChangeId = change.ChangeId ?? Guid.Empty, messageIds, now }, tx);
        }

        await tx.CommitAsync(context.CancellationToken);

        await PublishWithdrawnAsync(context, change, withdrawn, NoLongerCovered, now);
    }

    internal const string NoLongerCovered = ReceiverReasons.NoLongerCovered;

    /// <summary>
    /// For SQL, the rows a notice lists: what the receiving system fetched and still holds, and what a push may have left
    /// with it that this change has just withdrawn (<c>@now</c>, its time).
    /// </summary>
    private const string Noticed = "((withdrawn_at IS NULL AND fetched_at IS NOT NULL) OR (maybe_received_at IS NOT NULL AND withdrawn_at = @now))";

    private static async Task PublishWithdrawnAsync(
        ConsumeContext<ConsentRevoked> context, ConsentRevoked revoked, List<WithdrawnRow> withdrawn, string reason, DateTimeOffset now)
    {
        foreach (var row in withdrawn)
        {
            await context.Publish(new DisclosureStatusChanged
            {
                MessageId = row.MessageId,
                Status = DisclosureStatus.Withdrawn,
                SendingUnit = row.SendingUnit,
                ReceivingUnit = row.ReceivingUnit,
                Purpose = Enum.Parse<Purpose>(row.Purpose),
                SubjectPseudonym = revoked.SubjectPseudonym,
                Basis = row.Basis,
                Categories = row.Categories.Select(Enum.Parse<InformationCategory>).ToList(),
                Reasons = [reason],
                OccurredAt = now,
            });
        }
    }

    // Dapper fills properties: Npgsql reports text[] columns as System.Array.
    private sealed class WithdrawnRow
    {
        public Guid MessageId { get; init; }
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string[] Categories { get; init; } = [];
        public string Basis { get; init; } = "";
    }
}
