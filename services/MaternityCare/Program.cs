using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.MaternityCare;

const string ServiceName = "maternity-care";

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(ServiceName);
builder.AddOperationService(new OperationDescriptor(ServiceName, OperationType.MaternityCare));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(MaternityCareVocabulary.Messages);
app.Run();
