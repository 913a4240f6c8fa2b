using FamiljecentralHub.Ops;
using FamiljecentralHub.Ops.Features.Alerts;
using FamiljecentralHub.Ops.Features.Console;
using FamiljecentralHub.Ops.Features.Flows;
using FamiljecentralHub.Ops.Features.Refusals;
using FamiljecentralHub.Ops.Features.Statistics;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Configuration;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Input;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;

var builder = WebApplication.CreateBuilder(args).AddSecretFiles();
if (MigrateCommand.IsInvoked(args))
{
    return await MigrateCommand.RunAsync(builder.Configuration, typeof(OpsServiceExtensions).Assembly);
}

if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, Catalogue.Ops.Name);
}

builder.AddServiceDefaults(Catalogue.Ops.Name);
builder.AddOpsServices();
builder.AddOpsAlerts();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapHubApi().MapFlowsApi().MapAccessRefusalsApi().MapStatisticsApi().MapConsole();
app.MapHubApi().MapAlertsApi();
app.Run();
return 0;
