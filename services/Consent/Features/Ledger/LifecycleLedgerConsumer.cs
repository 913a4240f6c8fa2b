using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;
using MassTransit;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// Writes what happened after the decision into the same ledger: the delivery to the receiving unit, a withdrawal
/// after revocation, the receiver's acknowledgement. One entry of each kind per message, whatever the redeliveries.
/// </summary>
internal sealed class LifecycleLedgerConsumer(LedgerWriter ledger) : IConsumer<DisclosureStatusChanged>
{
    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        var e = context.Message;
        (LedgerKind Kind, LedgerOutcome Outcome)? recorded = e.Status switch
        {
            DisclosureStatus.Delivered => (LedgerKind.Delivery, LedgerOutcome.Delivered),
            DisclosureStatus.Withdrawn => (LedgerKind.Withdrawal, LedgerOutcome.Withdrawn),
            DisclosureStatus.Acknowledged => (LedgerKind.Acknowledgement, LedgerOutcome.Acknowledged),
            _ => null, // decisions are written by the gate itself
        };
        if (recorded is not { } entry)
        {
            return;
        }

        await ledger.AppendAsync(new LedgerEntry
        {
            MessageId = e.MessageId,
            Kind = entry.Kind,
            Outcome = entry.Outcome,
            SendingUnit = e.SendingUnit,
            ReceivingUnit = e.ReceivingUnit,
            ActingSystem = e.ActingSystem ?? "hub",
            SubjectPseudonym = e.SubjectPseudonym,
            Purpose = e.Purpose.ToString(),
            Categories = e.Categories.Select(c => c.ToString()).ToArray(),
            Basis = e.Basis,
            Reasons = e.Reasons.ToArray(),
            At = e.OccurredAt,
        }, context.CancellationToken);
    }
}

internal sealed class LifecycleLedgerConsumerDefinition : ConsumerDefinition<LifecycleLedgerConsumer>
{
    public LifecycleLedgerConsumerDefinition() => EndpointName = Queues.Ledger;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<LifecycleLedgerConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Decisions it writes itself; only what happens after them comes in here.
        endpointConfigurator.BindStatusEvents(["*.Delivered", "*.Withdrawn", "*.Acknowledged"]);
    }
}
