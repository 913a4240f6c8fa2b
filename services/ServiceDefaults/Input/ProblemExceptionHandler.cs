using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>
/// Every exception becomes a ProblemDetails with a fixed text, in every environment: a body that does not bind (wrong
/// type, broken or too deep JSON, a null among enum values) is a 400 naming at most the field, a body over Kestrel's
/// limit a 413, anything else a 500 that says nothing. Exception messages never reach the client (a JsonException or
/// a database error can carry the input), and the log gets the type and the stack, not the message.
/// </summary>
internal sealed partial class ProblemExceptionHandler(
    IProblemDetailsService problems, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    private static readonly ConcurrentDictionary<Type, HashSet<string>> NamesByType = new();

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem;
        switch (exception)
        {
            case BadHttpRequestException { InnerException: JsonException failure }:
                var errors = new Dictionary<string, string[]> { [FieldOf(failure.Path, KnownNames(http))] = ["is not of the expected type, or the JSON is malformed or nested too deeply"] };
                problem = new HttpValidationProblemDetails(errors) { Status = StatusCodes.Status400BadRequest, Title = "The request body could not be read" };
                break;
            case BadHttpRequestException bad:
                problem = new ProblemDetails
                {
                    Status = bad.StatusCode,
                    Title = ReasonPhrases.GetReasonPhrase(bad.StatusCode),
                    Detail = bad.StatusCode switch
                    {
                        StatusCodes.Status413PayloadTooLarge => "The request body exceeds the allowed size.",
                        StatusCodes.Status415UnsupportedMediaType => "Send the body as application/json, in UTF-8.",
                        _ => "The request could not be read: a required value is missing or a value is of the wrong type.",
                    },
                };
                break;
            case InvalidDataException:
            case IOException when http.Request.HasFormContentType:
                // A form the framework cannot parse: too many fields, a part without its boundary, a body cut short.
                problem = new ProblemDetails
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = ReasonPhrases.GetReasonPhrase(StatusCodes.Status400BadRequest),
                    Detail = "The form could not be read: it is malformed, cut short or has too many fields.",
                };
                break;
            default:
                // The message may hold what the request carried (a database error quotes the row): type and stack only.
                logger.LogError("Unhandled {ExceptionType} on {Method} {Route}{NewLine}{StackTrace}",
                    exception.GetType().FullName, http.Request.Method, (http.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText,
                    Environment.NewLine, exception.StackTrace);
                problem = new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "An error occurred", Detail = "The request was not completed. Try again later." };
                break;
        }

        http.Response.StatusCode = problem.Status!.Value;
        if (await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }))
        {
            return true;
        }

        // The problem writers take only a client that accepts JSON. Answered anyway: a handler that says no leaves the
        // exception to the framework, which logs it whole (a binding error quotes the value) and answers with no body.
        await http.Response.WriteAsJsonAsync(problem, problem.GetType(), json.Value.SerializerOptions, "application/problem+json", cancellationToken);
        return true;
    }

    /// <summary>
    /// The field of a JSON path ($.childsRatings[2].rating), as far as it is made only of plain property names and
    /// indexes: a property the request type does not have, named by the caller, stops it.
    /// </summary>
    private static string FieldOf(string? path, HashSet<string> known)
    {
        if (path is null || !path.StartsWith('$'))
        {
            return "body";
        }

        var field = new System.Text.StringBuilder();
        foreach (Match segment in Segment().Matches(PlainPrefix().Match(path[1..]).Value))
        {
            if (segment.Value.StartsWith('.') && !known.Contains(segment.Value[1..]))
            {
                break;
            }

            field.Append(segment.Value);
        }

        var text = field.ToString().TrimStart('.');
        return text.Length is 0 or > 120 ? "body" : text;
    }

    /// <summary>The JSON names of every property the endpoint's body type has, however deep.</summary>
    private HashSet<string> KnownNames(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is not { } type)
        {
            return [];
        }

        return NamesByType.GetOrAdd(type, t =>
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            var seen = new HashSet<Type>();
            void Walk(Type current)
            {
                if (!seen.Add(current) || current == typeof(string) || current.IsPrimitive)
                {
                    return;
                }

                var info = json.Value.SerializerOptions.GetTypeInfo(current);
                if (info.ElementType is { } element)
                {
                    Walk(element);
                }

                foreach (var property in info.Kind == JsonTypeInfoKind.Object ? info.Properties : Array.Empty<JsonPropertyInfo>())
                {
                    names.Add(property.Name);
                    Walk(property.PropertyType);
                }
            }

            Walk(t);
            return names;
        });
    }

    [GeneratedRegex(@"\.[a-zA-Z][a-zA-Z0-9]*|\[\d+\]")]
    private static partial Regex Segment();

    [GeneratedRegex(@"^(\.[a-zA-Z][a-zA-Z0-9]{0,40}|\[\d{1,3}\])*")]
    private static partial Regex PlainPrefix();
}
