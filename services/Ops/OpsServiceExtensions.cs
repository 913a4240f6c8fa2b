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
        // Operations watch flows by the second: one commit for every step of 20 ms.
        builder.AddGroupCommit(linger: TimeSpan.FromMilliseconds(20));
        builder.AddHubMessaging(x => x.AddConsumer<FlowConsumer, FlowConsumerDefinition>());
        return builder;
    }
}
