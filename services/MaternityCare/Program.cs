using FamiljecentralHub.MaternityCare;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.ServiceDefaults.Configuration;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;

var service = Catalogue.MaternityCare;

var builder = WebApplication.CreateBuilder(args).AddSecretFiles();
if (MigrateCommand.IsInvoked(args))
{
    return await MigrateCommand.RunAsync(builder.Configuration, typeof(OperationServiceExtensions).Assembly);
}

if (ErrorQueueCommand.IsInvoked(args))
{
    return await ErrorQueueCommand.RunAsync(args, builder.Configuration, service.Name);
}

builder.AddServiceDefaults(service.Name);
builder.AddOperationService(OperationDescriptor.For(service));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(MaternityCareVocabulary.Messages);
app.Run();
return 0;
