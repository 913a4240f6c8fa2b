using FamiljecentralHub.Ops.Features.Flows;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Messaging;
using MassTransit;

namespace FamiljecentralHub.Ops;

internal static class OpsServiceExtensions
{
    public static WebApplicationBuilder AddOpsServices(this WebApplicationBuilder builder)
    {
        builder.AddHubDatabase(typeof(OpsServiceExtensions).Assembly);
        builder.AddGroupCommit();
        builder.AddHubMessaging(x => x.AddConsumer<FlowConsumer, FlowConsumerDefinition>());
        return builder;
    }
}
