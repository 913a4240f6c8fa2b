using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// Writes what happened after the decision into the same ledger: the delivery to the receiving unit, a withdrawal
/// after revocation, the receiver's acknowledgement. One entry of each kind per message, whatever the redeliveries.
/// </summary>
internal sealed partial class LifecycleLedgerConsumer(
    LedgerWriter ledger, OrganisationRegistry registry, LegalBasisCatalog bases, ILogger<LifecycleLedgerConsumer> logger)
    : IConsumer<DisclosureStatusChanged>, IConsumer<DisclosureStatusesChanged>
{
    /// <summary>The statuses recorded here; decisions the gate writes itself.</summary>
    internal static readonly DisclosureStatus[] Recorded = [DisclosureStatus.Delivered, DisclosureStatus.Withdrawn, DisclosureStatus.Acknowledged];

    public async Task Consume(ConsumeContext<DisclosureStatusChanged> context)
    {
        // Only from the receiving service (the broker vouches for the publisher's name); the writer then holds the event
        // to the message's permit, so a receiver cannot speak for another receiver's message either.
        if (StatusEventOrigin.Accept(context, registry, logger))
        {
            await Record(context.Message, context.CancellationToken);
        }
    }

    /// <summary>A page's acknowledgements, each held to its permit as if alone: appended together, so they share a batch of the chain.</summary>
    public Task Consume(ConsumeContext<DisclosureStatusesChanged> context) =>
        Task.WhenAll(StatusEventOrigin.Accepted(context, registry, logger).Select(e => Record(e, context.CancellationToken)));

    private async Task Record(DisclosureStatusChanged e, CancellationToken cancellationToken)
    {
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

        try
        {
            await ledger.AppendAsync(Entry(e, entry.Kind, entry.Outcome), cancellationToken);
        }
        catch (UnpermittedLifecycleException)
        {
            // Settled, not parked: no redrive would make it true. The warning names the message and status only.
            LogUnpermitted(logger, e.MessageId, e.Status);
        }
    }

    /// <summary>
    /// The entry as the event tells it. Units, subject and purpose the writer holds to the message's permit; what else the
    /// event carries is the receiving service's word and goes into the append-only ledger only in a form that cannot hold
    /// a name or a number: a basis the catalogue knows, an acting system shaped as a client id, a reason from
    /// the fixed set (<see cref="ReceiverReasons"/>).
    /// </summary>
    private LedgerEntry Entry(DisclosureStatusChanged e, LedgerKind kind, LedgerOutcome outcome) => new()
    {
        MessageId = e.MessageId,
        Kind = kind,
        Outcome = outcome,
        SendingUnit = e.SendingUnit,
        ReceivingUnit = e.ReceivingUnit,
        ActingSystem = e.ActingSystem is null ? "hub" : LedgerFields.ClientId(e.ActingSystem),
        SubjectPseudonym = e.SubjectPseudonym,
        Purpose = e.Purpose.ToString(),
        Categories = e.Categories.Select(c => c.ToString()).ToArray(),
        Basis = e.Basis is { } basis && bases.Find(basis) is not null ? basis : null,
        Reasons = e.Reasons.Where(ReceiverReasons.All.Contains).ToArray(),
        At = e.OccurredAt,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lifecycle event {MessageId} {Status} not recorded: the gate permitted no such message")]
    private static partial void LogUnpermitted(ILogger logger, Guid messageId, DisclosureStatus status);
}

internal sealed class LifecycleLedgerConsumerDefinition : ConsumerDefinition<LifecycleLedgerConsumer>
{
    public LifecycleLedgerConsumerDefinition() => EndpointName = Queues.Ledger;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<LifecycleLedgerConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Decisions it writes itself; only what happens after them comes in here.
        endpointConfigurator.BindStatusEvents([.. LifecycleLedgerConsumer.Recorded.Select(status => StatusRoutes.Pattern(status: status.ToString()))]);
    }
}
