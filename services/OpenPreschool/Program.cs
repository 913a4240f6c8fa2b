using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.OpenPreschool;

const string ServiceName = "open-preschool";

var builder = WebApplication.CreateBuilder(args);
if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, ServiceName);
}

builder.AddServiceDefaults(ServiceName);
builder.AddOperationService(new OperationDescriptor(ServiceName, OperationType.OpenPreschool));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(OpenPreschoolVocabulary.Messages);
app.Run();
return 0;
