using System.Reflection;
using System.Text.Json;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Http.Metadata;

namespace FamiljecentralHub.Consent.Features.Fhir;

/// <summary>A FHIR resource as <c>application/fhir+json</c>, written by the SDK's System.Text.Json converters.</summary>
public sealed class FhirResult(Resource resource) : IResult, IEndpointMetadataProvider
{
    public const string ContentType = "application/fhir+json";

    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public Resource Resource => resource;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.ContentType = ContentType + "; charset=utf-8";
        return JsonSerializer.SerializeAsync(httpContext.Response.Body, resource, resource.GetType(), Json, httpContext.RequestAborted);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(object), [ContentType]));
}
