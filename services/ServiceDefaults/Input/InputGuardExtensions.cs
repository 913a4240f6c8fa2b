using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>Input hygiene at the edge, written once for every hub service (docs/security.md, "Input at the edge").</summary>
public static class InputGuardExtensions
{
    public static WebApplicationBuilder AddInputGuard(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.MaxDepth = InputLimits.MaxDepth;
            // Two values for one field are read differently by different parsers: refuse the ambiguity.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        // A body that does not bind throws in every environment, so that ProblemExceptionHandler, not the developer
        // exception page or an empty 400, answers it.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        // Kestrel's default is 30 MB. Past the limit, reading the body throws a 413 that ProblemExceptionHandler answers.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = InputLimits.MaxRequestBodyBytes);
        return builder;
    }

    /// <summary>
    /// The route group every API endpoint of a hub service is mapped in: behind <see cref="InputGuard"/>, so no
    /// endpoint is reached with a null body, a refused character, an overlong string or list or a null item, and no
    /// problem it answers with is unbounded or repeats the request.
    /// </summary>
    public static RouteGroupBuilder MapHubApi(this IEndpointRouteBuilder app) =>
        app.MapGroup("").AddEndpointFilterFactory(InputGuard.Create);
}
