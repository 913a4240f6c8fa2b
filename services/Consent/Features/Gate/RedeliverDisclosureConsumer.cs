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
/// consent the ledger recorded, not those of the copy, and only if the gate would permit it as things stand now (a consent
/// may have ended since, a child come of age); the receiver then re-checks the consent as on a first arrival.
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

        // A redrive may come long after the decision: the consent may have ended since, or the child come of age so that
        // a guardian's yes no longer counts. It is decided again as it stands now, and sent only if it would still pass.
        var again = gate.Decide(d, await consents.CurrentForSubjectAsync(pseudonyms.For(d.SubjectId), context.CancellationToken), clock.GetUtcNow());
        if (!again.Permitted)
        {
            throw new MetadataOnlyException($"Redelivery of {d.MessageId} refused: the gate would not permit it now ({string.Join("; ", again.Reasons)}).");
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
