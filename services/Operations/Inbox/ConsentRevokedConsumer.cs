using Dapper;
using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// A revocation takes effect here at once: every message under the consent that the receiving system has not fetched
/// leaves the inbox as withdrawn (and its sender is told); what it already fetched is listed in a notice for it.
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

        var consentId = revoked.ConsentId;
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        await using var tx = await connection.BeginTransactionAsync(context.CancellationToken);
        await connection.ExecuteAsync(ConsentLock.Sql, new { consentId }, tx);
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
            """
            INSERT INTO revocation_notices (receiving_unit, consent_id, message_ids, revoked_at)
            SELECT receiving_unit, @consentId, array_agg(message_id ORDER BY seq), @RevokedAt
            FROM inbox WHERE consent_id = @consentId AND withdrawn_at IS NULL AND fetched_at IS NOT NULL
            GROUP BY receiving_unit
            ON CONFLICT (receiving_unit, consent_id) DO NOTHING
            """,
            new { consentId, revoked.RevokedAt }, tx);
        await tx.CommitAsync(context.CancellationToken);

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
                Reasons = ["the consent was revoked before the receiving system fetched it"],
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
