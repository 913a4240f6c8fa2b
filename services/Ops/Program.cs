using FamiljecentralHub.Ops;
using FamiljecentralHub.Ops.Features.Refusals;
using FamiljecentralHub.Ops.Features.Flows;
using FamiljecentralHub.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("ops");
builder.AddOpsServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapFlowsApi();
app.MapAccessRefusalsApi();
app.Run();
