using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using MassTransit;

namespace FamiljecentralHub.Operations.Inbox;

/// <summary>
/// A delivery this service could not store, whatever the retries, is parked in its error queue; without this its
/// sender would see "Permitted" for ever. So the sender is told, as a lifecycle event like any other (metadata only:
/// units, purpose, categories, the subject's pseudonym and a fixed reason), that the delivery failed and waits for the
/// receiver's operator. A redrive that then stores it publishes Delivered, which ranks above DeliveryFailed.
/// </summary>
internal sealed class DeliveryFailedAnnouncer(Pseudonymizer pseudonyms, TimeProvider clock) : IParkedMessageObserver
{
    public const string Reason = ReceiverReasons.NotStored;

    private static readonly string DeliveryType = MessageUrn.ForTypeString<DeliverDisclosure>();

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task Parked(ExceptionReceiveContext context, string reason)
    {
        if (Read(context.Body.GetBytes()) is not { } delivery)
        {
            return; // not a delivery, or not one that can be read: the listing shows it, nobody can be told
        }

        var d = delivery.Disclosure;
        var endpoint = await context.PublishEndpointProvider.GetPublishSendEndpoint<DisclosureStatusChanged>();
        await endpoint.Send(new DisclosureStatusChanged
        {
            MessageId = d.MessageId,
            Status = DisclosureStatus.DeliveryFailed,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            Purpose = d.Purpose,
            SubjectPseudonym = pseudonyms.For(d.SubjectId),
            Basis = delivery.Basis,
            Categories = d.Categories,
            Reasons = [Reason],
            OccurredAt = clock.GetUtcNow(),
        }, context.CancellationToken);
    }

    /// <summary>The delivery in MassTransit's JSON envelope; null for any other message or one that cannot be read.</summary>
    private static DeliverDisclosure? Read(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("messageType", out var types) && types.ValueKind == JsonValueKind.Array
                && types.EnumerateArray().Any(type => type.ValueKind == JsonValueKind.String && type.GetString() == DeliveryType)
                && root.TryGetProperty("message", out var message)
                && message.Deserialize<DeliverDisclosure>(Json) is { Disclosure: { SendingUnit: not null, ReceivingUnit: not null, SubjectId: not null } } delivery
                    ? delivery
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
