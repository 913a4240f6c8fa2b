using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>Authenticates the gateway-signed caller token; services accept no other credential.</summary>
internal sealed class CallerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    CallerTokenValidator validator)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers[CallerTokenDefaults.HeaderName];
        if (header.Count == 0)
        {
            return AuthenticateResult.NoResult();
        }

        // Two tokens would make "who is calling" ambiguous; the gateway always sends exactly one.
        if (header.Count > 1)
        {
            return AuthenticateResult.Fail("Caller token rejected: MultipleTokens");
        }

        var result = await validator.ValidateAsync(header.ToString());
        return result.Principal is { } principal
            ? AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name))
            : AuthenticateResult.Fail($"Caller token rejected: {result.FailureReason}");
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var outcome = await HandleAuthenticateOnceAsync();
        AccessRefusals.Mark(Context, outcome.None ? "no-caller-token" : "caller-token-invalid");
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized", "Authentication is required.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        AccessRefusals.Mark(Context, "caller-not-allowed");
        return WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", "The caller is not allowed to do this.");
    }

    private async Task WriteProblemAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        var problems = Context.RequestServices.GetService<IProblemDetailsService>();
        if (problems is null || !await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = problem }))
        {
            await Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json");
        }
    }
}
