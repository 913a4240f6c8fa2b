using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ChildHealth;

const string ServiceName = "child-health";

var builder = WebApplication.CreateBuilder(args);
if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, ServiceName);
}

builder.AddServiceDefaults(ServiceName);
builder.AddOperationService(new OperationDescriptor(ServiceName, OperationType.ChildHealth));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(ChildHealthVocabulary.Messages);
app.Run();
return 0;
