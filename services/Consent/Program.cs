using FamiljecentralHub.Consent;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Fhir;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Configuration;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Input;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;

var builder = WebApplication.CreateBuilder(args).AddSecretFiles();
if (MigrateCommand.IsInvoked(args))
{
    return await MigrateCommand.RunAsync(builder.Configuration, typeof(ConsentServiceExtensions).Assembly);
}

if (LedgerCommand.IsInvoked(args))
{
    return await LedgerCommand.VerifyAsync(builder.Configuration, Console.Out);
}

if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, Catalogue.Consent.Name);
}

builder.AddServiceDefaults(Catalogue.Consent.Name);
builder.AddConsentServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapHubApi().MapConsentApi().MapCustodyApi().MapAuditEventApi().MapAccountabilityApi();
app.Run();
return 0;
