using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.Gateway.Health;
using FamiljecentralHub.Gateway.Limits;
using FamiljecentralHub.Gateway.Proxy;
using FamiljecentralHub.ServiceDefaults.Configuration;
using FamiljecentralHub.ServiceDefaults.Telemetry;

// appsettings.json sits beside the assembly; without this, starting from another directory would silently lose it
// (and with it the Warning level for YARP, whose per-request logging is a bottleneck).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory }).AddSecretFiles();

builder.AddHubTelemetry("gateway");
builder.AddGatewayOptions();
builder.Services.AddProblemDetails();
builder.AddClientCertificates();
builder.AddAccessRefusalAudit();
builder.AddRequestLimits();
builder.AddHubProxy();
builder.AddGatewayHealth();

var app = builder.Build();

app.UseGatewayHealth();
app.UseExceptionHandler();
app.UseClientIdentification();
app.UseRequestLimits();
app.MapHubProxy();

app.Run();
