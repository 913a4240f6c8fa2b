using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Topology;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Gate;

/// <summary>
/// A delivery the receiving service could not store, put back by its operator from that service's error queue
/// (<c>errors redrive</c>). It comes back to the gate, not to the receiver's queue: only the gate may put a message
/// into a delivery queue, and a redrive must not become a way round it. The gate sends it again only if its ledger
/// holds a permit for exactly this message (the digest of the submission it decided), with the basis and
/// consent the ledger recorded, not those of the copy, and, for a permit on a consent, only while that consent still covers
/// it (it may have ended since, or the child come of age); the receiver then re-checks the consent as on a first arrival.
/// Anything else (a delivery the gate never permitted, one put back through another service's way, one whose metadata
/// differs from the permit) is parked in the gate's own error queue for its operator to see, and delivered nowhere.
/// </summary>
internal sealed class RedeliverDisclosureConsumer(
    NpgsqlDataSource db, DecisionLedger ledger, ConsentStore consents, SecrecyGate gate, LegalBasisCatalog bases, OrganisationRegistry registry,
    Pseudonymizer pseudonyms, TimeProvider clock)
    : IConsumer<DeliverDisclosure>
{
    public async Task Consume(ConsumeContext<DeliverDisclosure> context)
    {
        var d = context.Message.Disclosure;
        // The broker says whose way back it came through: only that service's user may write to it. A copy redriven from
        // the gate's own error queue carries that way as the stamp on its error copy (WayIn).
        var wayIn = WayIn.Of(context.ReceiveContext);
        if (registry.FindUnit(d.ReceivingUnit) is not { } receiver
            || wayIn != Queues.RedeliveryExchangeOf(Queues.ServiceFor(receiver.Operation)))
        {
            throw new MetadataOnlyException($"Redelivery of {d.MessageId} refused: it did not come back through its receiving service's own way.");
        }

        await using var connection = await db.OpenConnectionAsync(context.CancellationToken);
        var permit = await ledger.FindAsync(connection, d.MessageId, LedgerKind.Decision);
        // The receiver held the whole message, so it could alter any of it on the way back: the submission's digest,
        // not its metadata alone, must be the one the permit was given for.
        if (permit is not { Outcome: LedgerOutcome.Permitted }
            || !SubmitDisclosureConsumer.IsTheDecidedSubmission(permit, d, pseudonyms.For(d.SubjectId), SubmissionDigest.Of(d)))
        {
            throw new MetadataOnlyException($"Redelivery of {d.MessageId} refused: the ledger holds no permit for this message.");
        }

        // A redrive may come long after the decision. A consent may have ended since, or the child come of age so that a
        // guardian's yes no longer counts: a permit on a consent is sent again only while that very consent still covers
        // it (decided again over it and every recorded no; another consent covering it now was not the basis the ledger
        // recorded, and revoking that one would not reach this delivery). A statutory basis was the law's when the gate
        // decided (a report of concern is never blocked) and the same secrecy area does not lapse: those stand.
        if (permit.ConsentId is { } consentId)
        {
            var standing = (await consents.CurrentForSubjectAsync(pseudonyms.For(d.SubjectId), context.CancellationToken))
                .Where(c => c.Id == consentId || c.Grantors.Any(g => g.Answer == ConsentAnswer.No))
                .ToList();
            var again = gate.Decide(d with { ClaimedBasis = null }, standing, clock.GetUtcNow());
            if (!again.Permitted || again.ConsentId != consentId)
            {
                throw new MetadataOnlyException(
                    $"Redelivery of {d.MessageId} refused: its consent no longer covers it ({string.Join("; ", again.Reasons)}).");
            }
        }

        await context.SendToQueue(
            Queues.DeliveriesOf(Queues.ServiceFor(receiver.Operation)),
            new DeliverDisclosure
            {
                Disclosure = d, Basis = permit.Basis!, ConsentId = permit.ConsentId, PermittedAt = permit.At, Evidence = bases.EvidenceFor(d, permit.Basis),
            },
            d.MessageId);
    }
}
