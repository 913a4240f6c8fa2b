using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using MassTransit;

namespace FamiljecentralHub.Operations.Status;

/// <summary>The status queue takes the events of this service's own units only.</summary>
internal sealed class StatusChangedConsumerDefinition : ConsumerDefinition<StatusChangedConsumer>
{
    private readonly string[] units;

    public StatusChangedConsumerDefinition(OperationDescriptor descriptor, OrganisationRegistry registry)
    {
        EndpointName = Queues.StatusOf(descriptor.ServiceName);
        units = registry.UnitsOf(descriptor.Operations).Select(u => StatusRoutes.Pattern(senderService: descriptor.ServiceName, sendingUnit: u.Id)).ToArray();
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StatusChangedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.BindStatusEvents(units);
    }
}
