using System.Security.Claims;
using System.Security.Cryptography;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// Hands a disclosure to the secrecy gate. The caller gets its 202 only once the broker has confirmed the message
/// (publisher confirms on a durable quorum queue), so an accepted message can no longer be lost by this service.
/// </summary>
public sealed class DisclosureSender(
    OperationDescriptor descriptor,
    ISendEndpointProvider sendEndpoints,
    NpgsqlDataSource db,
    Pseudonymizer pseudonyms,
    IOptions<RabbitMqOptions> rabbit,
    TimeProvider clock,
    ILogger<DisclosureSender> logger)
{
    private static readonly TimeSpan KeyStoreTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Submits the draft. With an idempotency key the message id is derived from it, and the first request's fingerprint
    /// is kept: the same key with another request is <see cref="SubmitResult.KeyReused"/> and nothing is published.
    /// </summary>
    public async Task<Submission> SubmitAsync(
        string sendingUnit, string route, DisclosureDraft draft, ClaimsPrincipal caller, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var messageId = MessageIdFor(sendingUnit, idempotencyKey);
        var message = new SubmitDisclosure
        {
            MessageId = messageId,
            KeyDigest = string.IsNullOrEmpty(idempotencyKey) ? null : IdempotentMessageId.KeyDigest(idempotencyKey),
            SendingUnit = sendingUnit,
            ReceivingUnit = draft.ReceivingUnit,
            Purpose = draft.Purpose,
            Categories = draft.Categories,
            SubjectId = draft.SubjectId ?? UnidentifiedSubject.For(messageId),
            ClaimedBasis = draft.Basis,
            Content = draft.Content,
            ActingSystem = caller.ClientId(),
            ActingUser = draft.ActingUser,
            SubmittedAt = clock.GetUtcNow(),
        };

        if (idempotencyKey is not null)
        {
            var claim = await ClaimKeyAsync(message, IdempotencyKey.Fingerprint(route, message), cancellationToken);
            switch (claim)
            {
                case KeyClaim.Unavailable:
                    return new(SubmitResult.KeyStoreUnavailable, messageId);
                case KeyClaim.OtherRequest:
                    return new(SubmitResult.KeyReused, messageId);
                case KeyClaim.AlreadyConfirmed:
                    return new(SubmitResult.Accepted, messageId); // the broker already has this very message
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(rabbit.Value.ConfirmTimeout);
        try
        {
            // Through this service's own submission exchange: the only one its broker user may write to.
            await sendEndpoints.SubmitToGate(descriptor.ServiceName, message, timeout.Token);
        }
        // Whatever the failure, the message was not confirmed: the caller must retry (safely, with its idempotency key).
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("The broker did not confirm message {MessageId}: {Error}", message.MessageId, ex.GetType().Name);
            return new(SubmitResult.NotConfirmed, messageId);
        }

        await RecordSubmittedAsync(message, confirmedKey: idempotencyKey is not null, cancellationToken);
        return new(SubmitResult.Accepted, messageId);
    }

    /// <summary>
    /// Binds the key to this request's fingerprint, or finds the request it is already bound to. Two requests racing
    /// with one key: the primary key lets exactly one fingerprint in, and the other reads and compares it. A key whose
    /// first request was never confirmed stays bound to that request too: the broker may have taken it all the same
    /// (a lost confirm), so the gate may already have decided that id, and another body under it would never be delivered.
    /// When the database cannot be asked, the check is not skipped: the caller is told to retry (fail closed).
    /// </summary>
    private async Task<KeyClaim> ClaimKeyAsync(SubmitDisclosure message, byte[] fingerprint, CancellationToken cancellationToken)
    {
        using var brief = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        brief.CancelAfter(KeyStoreTimeout);
        try
        {
            await using var connection = await db.OpenConnectionAsync(brief.Token);
            // Two statements, not one: a statement's snapshot would not see the row a racing request committed meanwhile.
            var bound = await connection.QuerySingleOrDefaultAsync<BoundKey>(new CommandDefinition(
                """
                INSERT INTO idempotency_keys (message_id, sending_unit, fingerprint, first_seen_at)
                VALUES (@MessageId, @SendingUnit, @Fingerprint, @Now)
                ON CONFLICT (message_id) DO NOTHING
                RETURNING fingerprint AS Fingerprint, confirmed_at IS NOT NULL AS Confirmed
                """,
                new { message.MessageId, message.SendingUnit, Fingerprint = fingerprint, Now = clock.GetUtcNow() },
                cancellationToken: brief.Token))
                ?? await connection.QuerySingleAsync<BoundKey>(new CommandDefinition(
                    "SELECT fingerprint AS Fingerprint, confirmed_at IS NOT NULL AS Confirmed FROM idempotency_keys WHERE message_id = @MessageId",
                    new { message.MessageId }, cancellationToken: brief.Token));

            return !CryptographicOperations.FixedTimeEquals(bound.Fingerprint, fingerprint) ? KeyClaim.OtherRequest
                : bound.Confirmed ? KeyClaim.AlreadyConfirmed
                : KeyClaim.Bound;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Could not check the idempotency key of message {MessageId}: {Error}", message.MessageId, ex.GetType().Name);
            return KeyClaim.Unavailable;
        }
    }

    /// <summary>The message's id: derived from the idempotency key when there is one (<see cref="IdempotentMessageId"/>).</summary>
    public static Guid MessageIdFor(string sendingUnit, string? idempotencyKey) => IdempotentMessageId.For(sendingUnit, idempotencyKey);

    // The status row is only a view: if this write is lost, the gate's status events create it anyway.
    private async Task RecordSubmittedAsync(SubmitDisclosure message, bool confirmedKey, CancellationToken cancellationToken)
    {
        // Best effort and brief: a database outage must not hold up the answer to a message the broker already has.
        using var brief = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        brief.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            // With a key, a later request with the same key and request is answered from the key's row, without publishing
            // again. Both writes as one command: one round trip and one commit.
            await using var connection = await db.OpenConnectionAsync(brief.Token);
            await connection.ExecuteAsync(
                """
                INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank, submitted_at, updated_at)
                VALUES (@MessageId, @SendingUnit, @ReceivingUnit, @Purpose, @Pseudonym, 'Submitted', 0, @SubmittedAt, @SubmittedAt)
                ON CONFLICT (message_id) DO UPDATE SET submitted_at = COALESCE(sent_messages.submitted_at, excluded.submitted_at)
                """ + (confirmedKey
                    ? ";\nUPDATE idempotency_keys SET confirmed_at = @SubmittedAt WHERE message_id = @MessageId AND confirmed_at IS NULL"
                    : ""),
                new
                {
                    message.MessageId,
                    message.SendingUnit,
                    message.ReceivingUnit,
                    Purpose = message.Purpose.ToString(),
                    Pseudonym = pseudonyms.For(message.SubjectId),
                    message.SubmittedAt,
                });
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The message is already confirmed by the broker: whatever stops this write must not turn it into an error.
            logger.LogWarning("Could not record submitted message {MessageId} in the status view: {Error}", message.MessageId, ex.GetType().Name);
        }
    }
}

public enum SubmitResult
{
    /// <summary>The broker has the message (now, or from an earlier request with the same key and request).</summary>
    Accepted,

    /// <summary>The broker did not confirm it: retry with the same key.</summary>
    NotConfirmed,

    /// <summary>The key is bound to another request; nothing was sent.</summary>
    KeyReused,

    /// <summary>The key's binding could not be checked; nothing was sent: retry with the same key.</summary>
    KeyStoreUnavailable,
}

public readonly record struct Submission(SubmitResult Result, Guid MessageId);

internal enum KeyClaim
{
    Bound,
    AlreadyConfirmed,
    OtherRequest,
    Unavailable,
}

internal sealed class BoundKey
{
    public byte[] Fingerprint { get; init; } = [];
    public bool Confirmed { get; init; }
}
