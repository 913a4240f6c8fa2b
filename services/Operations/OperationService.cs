using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations.Inbox;
using FamiljecentralHub.Operations.Retention;
using FamiljecentralHub.Operations.Sending;
using FamiljecentralHub.Operations.Status;
using FamiljecentralHub.Operations.Webhooks;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Input;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FamiljecentralHub.Operations;

/// <summary>What makes one operation service different from another: its name and the operations it hosts.</summary>
public sealed record OperationDescriptor(string ServiceName, params OperationType[] Operations)
{
    public static OperationDescriptor For(HubService service) => new(service.Name, [.. service.Operations]);

    public bool Hosts(Unit unit) => Operations.Contains(unit.Operation);
}

public static class OperationServiceExtensions
{
    /// <summary>The sending, status and inbox machinery, with this operation's queues.</summary>
    public static WebApplicationBuilder AddOperationService(this WebApplicationBuilder builder, OperationDescriptor descriptor)
    {
        builder.Services.AddSingleton(descriptor);
        builder.Services.AddScoped<DisclosureSender>();
        builder.AddHubDatabase(typeof(OperationServiceExtensions).Assembly);
        // After the database: the dispatcher's first round needs the schema.
        builder.Services.AddWebhooks();
        builder.Services.AddInboxRetention();
        builder.Services.AddInboxWaits();
        // A delivery parked in the error queue is reported to its sender as DeliveryFailed.
        builder.Services.AddSingleton<IParkedMessageObserver, DeliveryFailedAnnouncer>();
        builder.AddGroupCommit();
        builder.AddHubMessaging(x =>
        {
            x.AddConsumer<DeliverDisclosureConsumer>().Endpoint(e =>
            {
                e.Name = Queues.DeliveriesOf(descriptor.ServiceName);
                // Deliveries arrive only by a direct send from the gate, never by a publish anybody could make.
                e.ConfigureConsumeTopology = false;
            });
            x.AddConsumer<StatusChangedConsumer, StatusChangedConsumerDefinition>();
            x.AddConsumer<ConsentRevokedConsumer>().Endpoint(e =>
            {
                e.Name = Queues.RevocationsOf(descriptor.ServiceName);
                // Bound by the deployment (Queues.RevocationBindings): the service may not declare, and so not delete, the exchange.
                e.ConfigureConsumeTopology = false;
            });
        });
        return builder;
    }

    /// <summary>The status, inbox and notices endpoints, and one sending endpoint per message type the service speaks.</summary>
    public static IEndpointRouteBuilder MapOperationApi(this IEndpointRouteBuilder app, Vocabulary vocabulary)
    {
        var units = app.MapHubApi().MapGroup("/units/{unitId}").AddEndpointFilter<UnitAccessFilter>();
        units.MapSendingApi(vocabulary);
        units.MapStatusApi();
        units.MapInboxApi();
        units.MapNoticesApi();
        units.MapWebhookApi();
        return app;
    }
}
