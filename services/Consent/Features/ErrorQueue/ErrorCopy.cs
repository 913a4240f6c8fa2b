using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using MassTransit;

namespace FamiljecentralHub.Consent.Features.ErrorQueue;

/// <summary>
/// What the listing shows of one message in the gate's error queue: metadata only (docs/error-queues.md). The message
/// itself carries personal data (the identity number, the content in staff's words); none of it is shown. Every field is
/// either parsed into a shape that cannot hold free text (an id, a number, a time, a known unit, an enum value) or is a
/// header the gate wrote at fault time, and the subject appears only as its keyed pseudonym.
/// </summary>
internal sealed record ErrorCopy(
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
    string Reason)
{
    public const string Unknown = "unknown";

    private static readonly string SubmissionType = MessageUrn.ForTypeString<SubmitDisclosure>();

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static ErrorCopy Describe(
        string? transportMessageId, IDictionary<string, object?>? headers, ReadOnlySpan<byte> body, Pseudonymizer pseudonyms, OrganisationRegistry registry)
    {
        var envelope = Envelope.Read(body);
        var submission = envelope?.Submission;
        var messageId = Guid.TryParse(transportMessageId, out var fromTransport) ? fromTransport : envelope?.MessageId;
        return new ErrorCopy(
            MessageId: messageId?.ToString() ?? Unknown,
            MessageType: envelope?.MessageTypes.Contains(SubmissionType) == true ? nameof(SubmitDisclosure) : Unknown,
            SendingUnit: KnownUnit(submission?.SendingUnit, registry),
            ReceivingUnit: KnownUnit(submission?.ReceivingUnit, registry),
            Purpose: submission is not null && Enum.IsDefined(submission.Purpose) ? submission.Purpose.ToString() : Unknown,
            Subject: submission?.SubjectId is { } subject ? pseudonyms.For(subject) : Unknown,
            // Written by MassTransit at fault time, over any header of that name the sender wrote (ErrorCopyFilter).
            Exception: Header(headers, MessageHeaders.FaultExceptionType) ?? Unknown,
            FaultedAt: DateTimeOffset.TryParse(Header(headers, MessageHeaders.FaultTimestamp), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)
                : Unknown,
            Retries: int.TryParse(Header(headers, MessageHeaders.FaultRetryCount), CultureInfo.InvariantCulture, out var retries)
                ? retries.ToString(CultureInfo.InvariantCulture)
                : "0",
            WayIn: ServiceDefaults.Messaging.WayIn.StampedOn(headers) ?? Unknown,
            // Only the gate writes it (ErrorCopyFilter), by a rule that lets no personal data through; older copies lack it.
            Reason: Header(headers, FaultReason.Header) ?? "not recorded");
    }

    /// <summary>One line, "key=value" pairs two spaces apart; the reason last, as the only value with spaces in it.</summary>
    public override string ToString() =>
        $"message-id={MessageId}  type={MessageType}  sending-unit={SendingUnit}  receiving-unit={ReceivingUnit}  purpose={Purpose}  " +
        $"subject={Subject}  exception={Exception}  faulted-at={FaultedAt}  retries={Retries}  way-in={WayIn}  reason={Reason}";

    /// <summary>A unit the registry knows, or "unknown": a forged or corrupt message could carry anything in that field.</summary>
    private static string KnownUnit(string? unit, OrganisationRegistry registry) =>
        unit is not null && registry.FindUnit(unit) is not null ? unit : Unknown;

    /// <summary>A header as text: MassTransit writes counts as AMQP integers, the rest as strings.</summary>
    private static string? Header(IDictionary<string, object?>? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value)
            ? value is int or long ? Convert.ToString(value, CultureInfo.InvariantCulture) : ServiceDefaults.Messaging.WayIn.AsText(value)
            : null;

    /// <summary>MassTransit's JSON envelope, as far as it can be read; a message that faulted may well not be readable.</summary>
    private sealed record Envelope(Guid? MessageId, IReadOnlyList<string> MessageTypes, SubmitDisclosure? Submission)
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

                Guid? messageId = root.TryGetProperty("messageId", out var id) && id.TryGetGuid(out var parsed) ? parsed : null;
                var types = root.TryGetProperty("messageType", out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToList()
                    : [];
                return new Envelope(messageId, types, ReadSubmission(root));
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static SubmitDisclosure? ReadSubmission(JsonElement root)
        {
            try
            {
                return root.TryGetProperty("message", out var message) ? message.Deserialize<SubmitDisclosure>(Json) : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
