using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;
using FamiljecentralHub.SocialServices;

var service = Catalogue.SocialServices;

var builder = WebApplication.CreateBuilder(args);
if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, service.Name);
}

builder.AddServiceDefaults(service.Name);
builder.AddOperationService(OperationDescriptor.For(service));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(SocialServicesVocabulary.Messages);
app.Run();
return 0;
