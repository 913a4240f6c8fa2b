using FamiljecentralHub.Consent;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("consent");
builder.AddConsentServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapConsentApi();
app.Run();
