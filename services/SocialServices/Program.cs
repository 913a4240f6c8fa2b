using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations;
using FamiljecentralHub.ServiceDefaults;
using FamiljecentralHub.SocialServices;

const string ServiceName = "social-services";

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults(ServiceName);
builder.AddOperationService(new OperationDescriptor(ServiceName, OperationType.PreventiveSocialServices, OperationType.SocialServicesIntake));

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOperationApi(SocialServicesVocabulary.Messages);
app.Run();
