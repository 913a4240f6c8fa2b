using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace FamiljecentralHub.Gateway.Problems;

/// <summary>
/// Every error the gateway itself produces: fixed titles and details, so no response ever echoes a path, a header,
/// a certificate name or an exception message back to the caller.
/// </summary>
internal static class GatewayProblems
{
    public static Task Forbidden(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", "The client is not allowed to use this resource.");

    public static Task NotFound(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status404NotFound, "Not Found", "No such resource.");

    public static Task PayloadTooLarge(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Payload Too Large", "The request body exceeds the allowed size.");

    public static Task TooManyRequests(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", "The client's request rate limit was exceeded.");

    /// <summary>For a status YARP set when forwarding failed.</summary>
    public static Task ForStatus(HttpContext context, int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => PayloadTooLarge(context),
        StatusCodes.Status502BadGateway => WriteAsync(context, status, "Bad Gateway", "The service could not be reached."),
        StatusCodes.Status504GatewayTimeout => WriteAsync(context, status, "Gateway Timeout", "The service did not answer in time."),
        _ => WriteAsync(context, status, ReasonPhrases.GetReasonPhrase(status), "The request could not be forwarded."),
    };

    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await writer.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json");
        }
    }
}
