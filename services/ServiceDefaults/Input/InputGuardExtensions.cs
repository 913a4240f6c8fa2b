using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
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
    /// A JSON body in a charset other than UTF-8 is a 415 before anything reads it: the framework's reader throws an
    /// exception of its own for a charset it does not know (a 500), and JSON on the wire is UTF-8 (RFC 8259).
    /// </summary>
    public static IApplicationBuilder UseUtf8JsonBodies(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var media)
            && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
            && media.Charset.HasValue
            && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !media.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw new BadHttpRequestException("The body's charset is not UTF-8.", StatusCodes.Status415UnsupportedMediaType);
        }

        await next(context);
    });

    /// <summary>
    /// The route group every API endpoint of a hub service is mapped in: behind <see cref="InputGuard"/>, so no
    /// endpoint is reached with a null body, a refused character, an overlong string or list or a null item, and no
    /// problem it answers with is unbounded or repeats the request.
    /// </summary>
    public static RouteGroupBuilder MapHubApi(this IEndpointRouteBuilder app) =>
        app.MapGroup("").AddEndpointFilterFactory(InputGuard.Create);
}
