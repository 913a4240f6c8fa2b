using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
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
    public async Task<Guid?> SubmitAsync(
        string sendingUnit, DisclosureDraft draft, ClaimsPrincipal caller, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var messageId = MessageIdFor(sendingUnit, idempotencyKey);
        var message = new SubmitDisclosure
        {
            MessageId = messageId,
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
            return null;
        }

        await RecordSubmittedAsync(message, cancellationToken);
        return message.MessageId;
    }

    /// <summary>
    /// With an idempotency key the message id is derived from it, so a retried submission is the same message and the
    /// gate, the ledger and the inbox all see it once. Without one every submission is new.
    /// </summary>
    public static Guid MessageIdFor(string sendingUnit, string? idempotencyKey)
    {
        if (string.IsNullOrEmpty(idempotencyKey))
        {
            return Guid.CreateVersion7();
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{sendingUnit}\n{idempotencyKey}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // RFC 9562 version 8: name-based, custom hash
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    // The status row is only a view: if this write is lost, the gate's status events create it anyway.
    private async Task RecordSubmittedAsync(SubmitDisclosure message, CancellationToken cancellationToken)
    {
        // Best effort and brief: a database outage must not hold up the answer to a message the broker already has.
        using var brief = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        brief.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await using var connection = await db.OpenConnectionAsync(brief.Token);
            await connection.ExecuteAsync(
                """
                INSERT INTO sent_messages (message_id, sending_unit, receiving_unit, purpose, subject_pseudonym, status, status_rank, submitted_at, updated_at)
                VALUES (@MessageId, @SendingUnit, @ReceivingUnit, @Purpose, @Pseudonym, 'Submitted', 0, @SubmittedAt, @SubmittedAt)
                ON CONFLICT (message_id) DO UPDATE SET submitted_at = COALESCE(sent_messages.submitted_at, excluded.submitted_at)
                """,
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
