using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using MassTransit;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// What the listing shows of one message in an error queue: metadata only (docs/error-queues.md). The message itself
/// may carry personal data (the identity number, the content in staff's words); none of it is shown. Every field is
/// either parsed into a shape that cannot hold free text (an id, a number, a time, a known unit, an enum value, a
/// pseudonym) or is a header the service wrote at fault time, and the subject appears only as its keyed pseudonym.
/// </summary>
public sealed partial record ErrorCopy(
    string MessageId,
    string MessageType,
    string SendingUnit,
    string ReceivingUnit,
    string Purpose,
    string Subject,
    string Exception,
    string FaultedAt,
    string Retries,
    string WayIn,
    string Queue,
    string Reason)
{
    public const string Unknown = "unknown";

    /// <summary>The hub's messages by their MassTransit URN; any other type is listed as unknown.</summary>
    private static readonly Dictionary<string, string> KnownTypes = new[]
    {
        (MessageUrn.ForTypeString<SubmitDisclosure>(), nameof(SubmitDisclosure)),
        (MessageUrn.ForTypeString<DeliverDisclosure>(), nameof(DeliverDisclosure)),
        (MessageUrn.ForTypeString<DisclosureStatusChanged>(), nameof(DisclosureStatusChanged)),
        (MessageUrn.ForTypeString<DisclosureStatusesChanged>(), nameof(DisclosureStatusesChanged)),
        (MessageUrn.ForTypeString<ConsentRevoked>(), nameof(ConsentRevoked)),
    }.ToDictionary(type => type.Item1, type => type.Item2);

    public static ErrorCopy Describe(
        string queue, string? transportMessageId, IDictionary<string, object?>? headers, ReadOnlySpan<byte> body, Pseudonymizer pseudonyms, OrganisationRegistry registry)
    {
        var envelope = Envelope.Read(body);
        var messageType = envelope?.MessageTypes.Select(type => KnownTypes.GetValueOrDefault(type)).FirstOrDefault(name => name is not null);
        // Only a message of the hub's own types is read further: what anything else holds in like-named fields means nothing.
        var about = messageType is null ? null : envelope?.About;
        var messageId = Guid.TryParse(transportMessageId, out var fromTransport) ? fromTransport : envelope?.MessageId;
        return new ErrorCopy(
            MessageId: messageId?.ToString() ?? Unknown,
            MessageType: messageType ?? Unknown,
            SendingUnit: KnownUnit(Text(about, "sendingUnit"), registry),
            ReceivingUnit: KnownUnit(Text(about, "receivingUnit"), registry),
            Purpose: PurposeOf(about),
            Subject: Text(about, "subjectId") is { Length: > 0 } subject ? pseudonyms.For(subject)
                : Text(about, "subjectPseudonym") is { } pseudonym && PseudonymShape().IsMatch(pseudonym) ? pseudonym
                : Unknown,
            // Written by MassTransit at fault time, over any header of that name the sender wrote (ErrorCopyFilter).
            Exception: Header(headers, MessageHeaders.FaultExceptionType) ?? Unknown,
            FaultedAt: DateTimeOffset.TryParse(Header(headers, MessageHeaders.FaultTimestamp), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)
                : Unknown,
            Retries: int.TryParse(Header(headers, MessageHeaders.FaultRetryCount), CultureInfo.InvariantCulture, out var retries)
                ? retries.ToString(CultureInfo.InvariantCulture)
                : "0",
            WayIn: Messaging.WayIn.StampedOn(headers) ?? Unknown,
            Queue: queue,
            // Only the service writes it (ErrorCopyFilter), by a rule that lets no personal data through; older copies lack it.
            Reason: Header(headers, FaultReason.Header) ?? "not recorded");
    }

    /// <summary>One line, "key=value" pairs two spaces apart; the reason last, as the only value with spaces in it.</summary>
    public override string ToString() =>
        $"message-id={MessageId}  type={MessageType}  sending-unit={SendingUnit}  receiving-unit={ReceivingUnit}  purpose={Purpose}  " +
        $"subject={Subject}  exception={Exception}  faulted-at={FaultedAt}  retries={Retries}  way-in={WayIn}  queue={Queue}  reason={Reason}";

    /// <summary>A unit the registry knows, or "unknown": a forged or corrupt message could carry anything in that field.</summary>
    private static string KnownUnit(string? unit, OrganisationRegistry registry) =>
        unit is not null && registry.FindUnit(unit) is not null ? unit : Unknown;

    private static string PurposeOf(JsonElement? about)
    {
        if (about is not { } element || !element.TryGetProperty("purpose", out var purpose))
        {
            return Unknown;
        }

        return purpose.ValueKind switch
        {
            JsonValueKind.String when Enum.TryParse<Purpose>(purpose.GetString(), ignoreCase: false, out var named) && Enum.IsDefined(named) && !int.TryParse(purpose.GetString(), out _) => named.ToString(),
            JsonValueKind.Number when purpose.TryGetInt32(out var number) && Enum.IsDefined((Purpose)number) => ((Purpose)number).ToString(),
            _ => Unknown,
        };
    }

    private static string? Text(JsonElement? about, string property) =>
        about is { } element && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A header as text: MassTransit writes counts as AMQP integers, the rest as strings.</summary>
    private static string? Header(IDictionary<string, object?>? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value)
            ? value is int or long ? Convert.ToString(value, CultureInfo.InvariantCulture) : Messaging.WayIn.AsText(value)
            : null;

    /// <summary>As <see cref="Pseudonymizer"/> writes them: nothing else passes for one.</summary>
    [GeneratedRegex("^p-[0-9a-f]{24}$")]
    private static partial Regex PseudonymShape();

    /// <summary>
    /// MassTransit's JSON envelope, as far as it can be read (a message that faulted may well not be), and the object
    /// that names the disclosure: the message itself, a delivery's disclosure, or the first of several lifecycle events
    /// (which all name its sending unit and status).
    /// </summary>
    private sealed record Envelope(Guid? MessageId, IReadOnlyList<string> MessageTypes, JsonElement? About)
    {
        public static Envelope? Read(ReadOnlySpan<byte> body)
        {
            try
            {
                using var document = JsonDocument.Parse(body.ToArray());
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                Guid? messageId = root.TryGetProperty("messageId", out var id) && id.ValueKind == JsonValueKind.String && id.TryGetGuid(out var parsed) ? parsed : null;
                var types = root.TryGetProperty("messageType", out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToList()
                    : [];
                JsonElement? about = null;
                if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                {
                    about = message.TryGetProperty("disclosure", out var disclosure) && disclosure.ValueKind == JsonValueKind.Object
                        ? disclosure.Clone()
                        : message.TryGetProperty("changes", out var changes) && changes.ValueKind == JsonValueKind.Array
                            && changes.GetArrayLength() > 0 && changes[0].ValueKind == JsonValueKind.Object
                            ? changes[0].Clone()
                            : message.Clone();
                }

                return new Envelope(messageId, types, about);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
