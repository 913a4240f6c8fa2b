using System.Reflection;
using System.Security.Claims;
using System.Text.Json;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>
/// The endpoint filter every hub API endpoint runs behind (<see cref="InputGuardExtensions.MapHubApi"/>). Before the
/// handler: a body is present (a JSON <c>null</c> is no body) and passes <see cref="BodyInspector"/>. After it: any
/// problem the endpoint answers with is bounded and repeats none of the request's values (<see cref="ProblemBounds"/>).
/// </summary>
internal static class InputGuard
{
    public static EndpointFilterDelegate Create(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var services = context.ApplicationServices.GetService<IServiceProviderIsService>();
        var bodies = context.MethodInfo.GetParameters()
            .Select((parameter, index) => (parameter, index))
            .Where(p => IsBody(p.parameter, services))
            .Select(p => p.index)
            .ToArray();
        var options = context.ApplicationServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;

        return async invocation =>
        {
            var inspector = new BodyInspector(options);
            foreach (var index in bodies)
            {
                if (invocation.Arguments[index] is { } body)
                {
                    inspector.Inspect(body);
                }
                else
                {
                    inspector.Problems.Add("body", "send a JSON object; the body was empty or null");
                }
            }

            if (inspector.Problems.Count > 0)
            {
                return TypedResults.Problem(inspector.Problems.ToProblemDetails("The request is not valid"));
            }

            var result = await next(invocation);
            if (ProblemIn(result) is { } problem)
            {
                // A registered unit's id is the organisation's, not a person's: a refusal may name it.
                var registry = invocation.HttpContext.RequestServices.GetService<OrganisationRegistry>();
                ProblemBounds.Apply(problem, [.. inspector.Strings.Concat(RequestValues(invocation.HttpContext)).Where(v => registry?.FindUnit(v) is null)]);
            }

            return result;
        };
    }

    private static ProblemDetails? ProblemIn(object? result) => result switch
    {
        ValidationProblem v => v.ProblemDetails,
        ProblemHttpResult p => p.ProblemDetails,
        INestedHttpResult nested => ProblemIn(nested.Result),
        _ => null,
    };

    /// <summary>The route values and query values of the request, which an answer must not repeat either.</summary>
    private static IEnumerable<string> RequestValues(HttpContext http) =>
        http.Request.RouteValues.Values.OfType<string>()
            .Concat(http.Request.Query.SelectMany(q => q.Value.OfType<string>()))
            .Select(v => v.Trim())
            .Where(v => v.Length >= 4);

    private static readonly Type[] NotBodies =
        [typeof(HttpContext), typeof(HttpRequest), typeof(HttpResponse), typeof(ClaimsPrincipal), typeof(Stream), typeof(System.IO.Pipelines.PipeReader), typeof(string)];

    /// <summary>As the request delegate factory infers it: a complex type that no attribute, service or TryParse claims.</summary>
    private static bool IsBody(ParameterInfo parameter, IServiceProviderIsService? services)
    {
        var attributes = parameter.GetCustomAttributes(inherit: true);
        if (attributes.OfType<IFromBodyMetadata>().Any())
        {
            return true;
        }

        var type = parameter.ParameterType;
        return !attributes.Any(a => a is IFromServiceMetadata or IFromRouteMetadata or IFromQueryMetadata or IFromHeaderMetadata or IFromFormMetadata or AsParametersAttribute)
            && !type.IsValueType
            && !NotBodies.Contains(type)
            && !typeof(IFormFile).IsAssignableFrom(type)
            && services?.IsService(type) != true
            && type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), type.MakeByRefType()]) is null
            && type.GetMethod("BindAsync", BindingFlags.Public | BindingFlags.Static) is null;
    }
}
