using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.MaternityCare;

const string ServiceName = "maternity-care";

var builder = WebApplication.CreateBuilder(args);
if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, ServiceName);
}

builder.AddServiceDefaults(ServiceName);
builder.AddOperationService(new OperationDescriptor(ServiceName, OperationType.MaternityCare));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(MaternityCareVocabulary.Messages);
app.Run();
return 0;
