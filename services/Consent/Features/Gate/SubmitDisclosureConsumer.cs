using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.Consent.Features.Gate;

/// <summary>
/// The secrecy gate: decides each submission, writes the decision to the ledger, and only then (the in-memory outbox
/// holds the sends until this method returns) delivers it or tells the sender why not. When the consent store or the
/// ledger cannot be reached this throws, the broker keeps the message, and it is decided later: fail closed, lose
/// nothing. A redelivered message finds its decision in the ledger and gets the same outcome again. A message that kept
/// faulting waits in the error queue until it is redriven (docs/error-queues.md); it is then decided as on its first
/// arrival, unless the ledger already holds its decision.
/// A decision is bound to the digest of the submission it decided (<see cref="SubmissionDigest"/>): a submission under
/// an id already decided is delivered only when it is that very submission. Another body under the same id (a reused
/// key past the sender's check, a bug or a breach) is never delivered: it is recorded in the ledger as a conflict and
/// announced to operations, metadata only.
/// </summary>
internal sealed partial class SubmitDisclosureConsumer(
    ConsentStore consents,
    LedgerWriter ledger,
    SecrecyGate gate,
    LegalBasisCatalog bases,
    OrganisationRegistry registry,
    Pseudonymizer pseudonyms,
    TimeProvider clock,
    ILogger<SubmitDisclosureConsumer> logger) : IConsumer<SubmitDisclosure>
{
    internal const string ConflictReason = "another submission was already decided under this message id; this one was not delivered";
    internal const string AnotherWayInReason = "submitted through another operation's way in";
    internal const string IdNotTheSendersReason = "its message id is not derived for its sending unit";

    private static readonly Counter<long> Impostors = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.gate.impostors", description: "Submissions that cannot be their sending unit's, taken as a compromised or faulty service's: by reason");

    private static readonly Counter<long> Decisions = TelemetryExtensions.Meter.CreateCounter<long>("hub.gate.decisions", description: "Gate decisions by outcome, basis and purpose");

    public async Task Consume(ConsumeContext<SubmitDisclosure> context)
    {
        var (d, unrecordable) = Recordable(context.Message);
        var pseudonym = pseudonyms.For(d.SubjectId);
        using var activity = TelemetryExtensions.Source.StartActivity("gate decide");
        activity?.SetTag("hub.message_id", d.MessageId).SetTag("hub.subject", pseudonym).SetTag("hub.purpose", d.Purpose.ToString())
            .SetTag("hub.redriven", WayIn.IsRedriven(context.ReceiveContext));

        // A redriven message is decided like a first arrival: the consents as they stand now, so one revoked since it
        // was first submitted refuses it.
        var now = clock.GetUtcNow();
        var digest = SubmissionDigest.Of(d);
        if (Impostor(context, d) is { } impostor)
        {
            // The way in names the service that sent it (an exchange name, metadata): the review's first question.
            await RecordConflictAsync(context, d, pseudonym, digest, [impostor, $"came in through {WayIn.Of(context.ReceiveContext) ?? "no known way in"}"], decided: null, now);
            activity?.SetTag("hub.outcome", LedgerText.Of(LedgerOutcome.Conflict));
            return;
        }

        var decision = (unrecordable ?? WayInRefusal(context, d)) is { } refusal
            ? Decision.Refuse([refusal])
            : gate.Decide(d, await consents.CurrentForSubjectAsync(pseudonym, context.CancellationToken), now);

        // On a redelivery the ledger already holds this message's decision and gives that back: it is the one that stands.
        var entry = await ledger.AppendAsync(new LedgerEntry
        {
            MessageId = d.MessageId,
            Kind = LedgerKind.Decision,
            Outcome = decision.Permitted ? LedgerOutcome.Permitted : LedgerOutcome.Refused,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            ActingSystem = d.ActingSystem,
            ActingUser = d.ActingUser,
            SubjectPseudonym = pseudonym,
            Purpose = d.Purpose.ToString(),
            Categories = d.Categories.Select(c => c.ToString()).ToArray(),
            Basis = decision.Basis,
            ConsentId = decision.ConsentId,
            Reasons = decision.Reasons.ToArray(),
            Review = decision.FlaggedForReview,
            At = now,
            Digest = digest,
        }, context.CancellationToken);
        if (!IsTheDecidedSubmission(entry, d, pseudonym, digest))
        {
            await RecordConflictAsync(
                context, d, pseudonym, digest,
                [ConflictReason, $"decided digest {(entry.Digest is { } recorded ? Convert.ToHexStringLower(recorded) : "not recorded")}"], entry, now);
            activity?.SetTag("hub.outcome", LedgerText.Of(LedgerOutcome.Conflict));
            return;
        }

        Decisions.Add(1, new("outcome", entry.OutcomeText), new("basis", entry.Basis ?? "none"), new("purpose", entry.Purpose));

        var permitted = entry.Outcome == LedgerOutcome.Permitted;
        activity?.SetTag("hub.outcome", entry.OutcomeText).SetTag("hub.basis", entry.Basis);
        if (permitted && registry.FindUnit(d.ReceivingUnit) is { } receiver)
        {
            await context.SendToQueue(
                Queues.DeliveriesOf(Queues.ServiceFor(receiver.Operation)),
                // The key's digest was for the gate's check: the receiver has no use for it.
                new DeliverDisclosure
                {
                    Disclosure = d with { KeyDigest = null }, Basis = entry.Basis!, ConsentId = entry.ConsentId, PermittedAt = entry.At,
                    Evidence = bases.EvidenceFor(d, entry.Basis),
                },
                d.MessageId);
        }

        if (permitted && entry.ConsentId is { } consentId && await NoLongerCoveredAsync(d, pseudonym, consentId, context.CancellationToken) is { } late)
        {
            await context.Publish(late);
        }

        await context.Publish(new DisclosureStatusChanged
        {
            MessageId = d.MessageId,
            Status = permitted ? DisclosureStatus.Permitted : DisclosureStatus.Refused,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            Purpose = d.Purpose,
            SubjectPseudonym = pseudonym,
            Basis = entry.Basis,
            Reasons = entry.Reasons,
            OccurredAt = entry.At,
            SubmittedAt = d.SubmittedAt,
        });
    }

    /// <summary>
    /// A consent or custody change committed while this permit was being decided may have been swept before the permit
    /// was in the ledger (<see cref="CoverageWithdrawals"/>). So, with the permit now in the ledger, the gate reads the
    /// subject's consents again and decides once more, at the current time: either the sweep read the ledger after the
    /// permit and found it, or the change was committed before this read and is seen here. A permit that lost its cover
    /// is withdrawn by message id as the sweep would have (the receiving service never stores it, or withdraws it).
    /// No lock is held across the two reads: a decision holds no database connection while it waits for the ledger.
    /// </summary>
    private async Task<ConsentRevoked?> NoLongerCoveredAsync(SubmitDisclosure d, string pseudonym, Guid consentId, CancellationToken cancellationToken)
    {
        var current = await consents.CurrentForSubjectAsync(pseudonym, cancellationToken);
        var now = clock.GetUtcNow();
        if (gate.Decide(d, current, now).Permitted)
        {
            return null;
        }

        return new ConsentRevoked
        {
            ConsentId = consentId,
            Version = current.FirstOrDefault(c => c.Id == consentId)?.Version ?? 0,
            SubjectPseudonym = pseudonym,
            SendingUnits = [d.SendingUnit],
            ReceivingUnits = [d.ReceivingUnit],
            RevokedAt = now,
            MessageIds = [d.MessageId],
            ChangeId = CoverageWithdrawals.LateChangeId(d.MessageId),
        };
    }

    /// <summary>
    /// The submission as the gate records it. The ids it keeps in the append-only ledger, in the status event's routing
    /// key and so in Ops' views are what the sending service wrote; the services check them, but a compromised or faulty
    /// one could write a name or an identity number there. A unit the registry does not know, an acting user that is no
    /// HSA id and an acting system not shaped as a client id are recorded as a fixed word instead, and the submission is
    /// refused, with a reason that repeats none of them.
    /// </summary>
    internal (SubmitDisclosure Submission, string? Refusal) Recordable(SubmitDisclosure d)
    {
        string? refusal = null;
        string Checked(string? value, bool wellFormed, string reason, string replacement)
        {
            if (wellFormed)
            {
                return value!;
            }

            refusal ??= reason;
            return replacement;
        }

        var recordable = d with
        {
            SendingUnit = Checked(d.SendingUnit, registry.FindUnit(d.SendingUnit) is not null, "unknown sending unit", Unregistered),
            ReceivingUnit = Checked(d.ReceivingUnit, registry.FindUnit(d.ReceivingUnit) is not null, "unknown receiving unit", Unregistered),
            ActingUser = d.ActingUser is null ? null : Checked(d.ActingUser, HsaId.Check(d.ActingUser) is null, "the acting user is not an HSA id", LedgerFields.Malformed),
            ActingSystem = Checked(d.ActingSystem, LedgerFields.IsClientId(d.ActingSystem), "the acting system is not a client id", LedgerFields.Malformed),
        };
        return refusal is null ? (d, null) : (recordable, refusal);
    }

    internal const string Unregistered = "(unregistered)";

    /// <summary>
    /// Whether <paramref name="d"/> is the submission the ledger's decision was made on: the same digest. A decision
    /// written before digests were recorded has none; it is taken to be the same submission when everything it does
    /// record matches (units, acting system, subject, purpose, categories), as the gate behaved before.
    /// </summary>
    internal static bool IsTheDecidedSubmission(LedgerEntry decided, SubmitDisclosure d, string pseudonym, byte[] digest) =>
        decided.Digest is { } recorded
            ? CryptographicOperations.FixedTimeEquals(recorded, digest)
            : decided.SendingUnit == d.SendingUnit && decided.ReceivingUnit == d.ReceivingUnit && decided.ActingSystem == d.ActingSystem
              && decided.SubjectPseudonym == pseudonym && decided.Purpose == d.Purpose.ToString()
              && decided.Categories.Order().SequenceEqual(d.Categories.Select(c => c.ToString()).Distinct().Order());

    /// <summary>
    /// One conflict entry per distinct refused body (its kind names the body's digest), so a redelivery of the same
    /// conflicting submission records nothing twice, and every different one is recorded. Metadata only, like every
    /// ledger entry; the refused submission's content is neither kept nor passed on. A conflict takes no decision: the
    /// id's decision slot stays the true submission's. The sender is told of a conflict with its own decided message;
    /// an impostor's (<paramref name="decided"/> null) is told to no one who could be its victim: it is in the ledger
    /// (flagged), in its own counter (alerted on) and in the log, by message id.
    /// </summary>
    private async Task RecordConflictAsync(
        ConsumeContext<SubmitDisclosure> context, SubmitDisclosure d, string pseudonym, byte[] digest, string[] reasons, LedgerEntry? decided, DateTimeOffset now)
    {
        var conflict = await ledger.AppendAsync(new LedgerEntry
        {
            MessageId = d.MessageId,
            Kind = LedgerKind.Conflict, // stored as "conflict:" and the digest below (LedgerText)
            Outcome = LedgerOutcome.Conflict,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            ActingSystem = d.ActingSystem,
            ActingUser = d.ActingUser,
            SubjectPseudonym = pseudonym,
            Purpose = d.Purpose.ToString(),
            Categories = d.Categories.Select(c => c.ToString()).ToArray(),
            Reasons = reasons,
            Review = true,
            At = now,
            Digest = digest,
        }, context.CancellationToken);
        Decisions.Add(1, new("outcome", conflict.OutcomeText), new("basis", "none"), new("purpose", conflict.Purpose));
        if (decided is null)
        {
            Impostors.Add(1, new KeyValuePair<string, object?>("reason", reasons[0] == AnotherWayInReason ? "another-way-in" : "id-not-derived"));
            LogImpostor(logger, d.MessageId, WayIn.Of(context.ReceiveContext) ?? "none", reasons[0]);
            return;
        }

        await context.Publish(new DisclosureStatusChanged
        {
            MessageId = d.MessageId,
            Status = DisclosureStatus.Conflict,
            SendingUnit = d.SendingUnit,
            ReceivingUnit = d.ReceivingUnit,
            Purpose = d.Purpose,
            SubjectPseudonym = pseudonym,
            Categories = d.Categories,
            ActingSystem = d.ActingSystem,
            Reasons = [ConflictReason],
            OccurredAt = conflict.At,
        });
    }

    /// <summary>
    /// A submission that cannot be its sending unit's: it came in through another operation's submission exchange, or
    /// its id is derived from a key under another unit (<see cref="IdempotentMessageId.BelongsTo"/>). A service that
    /// guessed another unit's Idempotency-Key could otherwise take that message's decision with a refusal, or decide
    /// one of its own under that id, and the true submission would then be a conflict, never delivered. So an impostor
    /// takes no decision and tells no status view: it is recorded as a conflict, and the id stays free.
    /// A submission redriven without its way in is the gate's own error copy, not an impostor (<see cref="WayInRefusal"/>).
    /// </summary>
    /// <returns>The reason, or null when the submission may be its sending unit's.</returns>
    private string? Impostor(ConsumeContext<SubmitDisclosure> context, SubmitDisclosure d)
    {
        if (!IdempotentMessageId.BelongsTo(d.MessageId, d.SendingUnit, d.KeyDigest))
        {
            return IdNotTheSendersReason;
        }

        return context.ReceiveContext.TryGetPayload(out RabbitMqBasicConsumeContext? _)
            && registry.FindUnit(d.SendingUnit) is { } sender
            && WayIn.Of(context.ReceiveContext) is { } wayIn
            && wayIn != Queues.SubmissionExchangeOf(Queues.ServiceFor(sender.Operation))
                ? AnotherWayInReason
                : null;
    }

    /// <summary>
    /// The broker lets each operation service write only to its own submission exchange, so the exchange a submission
    /// came through says which service sent it (<see cref="Impostor"/>). A submission redriven from the gate's error
    /// queue comes back through the redrive exchange, which only the gate's own broker user may write to; its way in is
    /// the one stamped on its error copy when it faulted (<see cref="WayIn"/>). Without that the gate cannot tell who
    /// sent it, and refuses: fail closed.
    /// </summary>
    /// <returns>The reason to refuse, or null when the gate knows the way it came in.</returns>
    private string? WayInRefusal(ConsumeContext<SubmitDisclosure> context, SubmitDisclosure d)
    {
        if (!context.ReceiveContext.TryGetPayload(out RabbitMqBasicConsumeContext? _) || registry.FindUnit(d.SendingUnit) is null)
        {
            return null; // not over RabbitMQ, or an unknown unit the gate refuses anyway
        }

        return WayIn.Of(context.ReceiveContext) is null ? "redriven without the way it first came in" : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission {MessageId} through {WayIn} taken as an impostor and recorded as a conflict: {Reason}")]
    private static partial void LogImpostor(ILogger logger, Guid messageId, string wayIn, string reason);
}
