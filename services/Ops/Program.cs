using FamiljecentralHub.Ops;
using FamiljecentralHub.Ops.Features.Refusals;
using FamiljecentralHub.Ops.Features.Flows;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Input;
using FamiljecentralHub.ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, "ops");
}

builder.AddServiceDefaults("ops");
builder.AddOpsServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapHubApi().MapFlowsApi().MapAccessRefusalsApi();
app.Run();
return 0;
