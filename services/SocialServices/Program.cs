using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.SocialServices;

const string ServiceName = "social-services";

var builder = WebApplication.CreateBuilder(args);
if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, ServiceName);
}

builder.AddServiceDefaults(ServiceName);
builder.AddOperationService(new OperationDescriptor(ServiceName, OperationType.PreventiveSocialServices, OperationType.SocialServicesIntake));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(SocialServicesVocabulary.Messages);
app.Run();
return 0;
