using System.Globalization;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Contracts.Operations;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// Records every operator action a service reports (issue 13: who redrove what, and why) in the ledger, once per
/// action. The routing key names the service that published it, which the broker vouches for (each service publishes
/// under its own name only), so a service can report only its own actions.
/// </summary>
internal sealed partial class OperatorActionLedgerConsumer(LedgerWriter ledger, ILogger<OperatorActionLedgerConsumer> logger) : IConsumer<OperatorActionTaken>
{
    public async Task Consume(ConsumeContext<OperatorActionTaken> context)
    {
        var a = context.Message;
        var key = StatusRoutes.Parse(StatusEventOrigin.RoutingKeyOf(context.ReceiveContext));
        if (key is not { SenderService: StatusRoutes.OperatorsWord, Status: StatusRoutes.OperatorActionWord } k || k.Publisher != a.Service || k.SendingUnit != a.Scope
            || a.Action != OperatorActions.Redrive || !OperatorActions.Reasons.Contains(a.Reason) || Catalogue.Find(a.Service) is null
            || !Recordable(a))
        {
            // Settled, not parked: a report no service could have made. Its id only.
            LogRefused(logger, a.ActionId);
            return;
        }

        await ledger.AppendAsync(new LedgerEntry
        {
            MessageId = a.ActionId,
            Kind = LedgerKind.OperatorAction,
            Outcome = LedgerOutcome.Recorded,
            // The service whose messages were acted on stands where units stand on a disclosure's entry.
            SendingUnit = a.Service,
            ReceivingUnit = a.Service,
            ActingSystem = a.Operator,
            ActingUser = a.Operator,
            SubjectPseudonym = LogFollowUps.NoSubject,
            Purpose = "operations",
            Categories = [],
            Reasons =
            [
                $"{a.Action} because {a.Reason}",
                $"scope {a.Scope}",
                .. a.Ticket is null ? Array.Empty<string>() : [$"case {a.Ticket}"],
                "queues " + string.Join(',', a.Queues),
                string.Create(CultureInfo.InvariantCulture, $"messages {a.MessageIds.Count}: ") + string.Join(',', a.MessageIds),
            ],
            At = a.At,
        }, context.CancellationToken);
    }

    /// <summary>
    /// The operator, the case and the queues are the publishing service's word, and go into the append-only ledger: only
    /// a client id, a case reference and that service's own queues, so that nothing else can be written there for good.
    /// </summary>
    private static bool Recordable(OperatorActionTaken a)
    {
        var own = Queues.ReceiveQueuesOf(a.Service);
        return LedgerFields.IsClientId(a.Operator)
            && (a.Ticket is null || ErrorQueueApi.IsTicket(a.Ticket))
            && a.Queues.All(queue => own.Contains(queue) || own.Select(Queues.ErrorQueueOf).Contains(queue));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator action {ActionId} not recorded: its routing key and content disagree")]
    private static partial void LogRefused(ILogger logger, Guid actionId);
}

/// <summary>On the ledger's own queue, bound to every service's operator actions.</summary>
internal sealed class OperatorActionLedgerConsumerDefinition : ConsumerDefinition<OperatorActionLedgerConsumer>
{
    public OperatorActionLedgerConsumerDefinition() => EndpointName = Queues.Ledger;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<OperatorActionLedgerConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.BindStatusEvents([StatusRoutes.OperatorActionPattern]);
}
