using FamiljecentralHub.Ops;
using FamiljecentralHub.Ops.Features.Flows;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Input;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("ops");
builder.AddOpsServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapHubApi().MapFlowsApi();
app.Run();
