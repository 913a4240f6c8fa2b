using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.ServiceDefaults.Tls;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Security;

public static class CallerAuthenticationExtensions
{
    // Failure messages the challenge tells apart; never token content.
    private const string MultipleTokens = "MultipleTokens";
    private const string NoTrustedCertificate = "NoTrustedCertificate";
    private const string NotBound = "NotBoundToConnection";
    private const string MissingSubject = "MissingSubject";

    /// <summary>
    /// Requires, on every endpoint that does not opt out with <c>AllowAnonymous</c> (health endpoints do), a caller who
    /// holds a client certificate from the internal CA (<c>Tls:ClientCaPath</c>) and a valid caller token addressed to
    /// <paramref name="serviceName"/> and bound to that very certificate (RFC 8705).
    /// </summary>
    public static IHostApplicationBuilder AddCallerAuthentication(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);

        builder.Services.AddOptions<CallerTokenOptions>()
            .BindConfiguration(CallerTokenDefaults.ConfigurationSection)
            .Validate(
                options => CallerTokenKeys.TryLoadPublicKey(options.PublicKeyPath),
                "CallerToken:PublicKeyPath must name a readable PEM file with an ECDSA P-256 public key.")
            .ValidateOnStart();
        builder.Services.AddOptions<ServiceTlsOptions>()
            .BindConfiguration(ServiceTlsOptions.SectionName)
            .Validate(options => CanLoadAuthorities(options.ClientCaPath), "Tls:ClientCaPath must name a PEM file with the internal CA certificate.")
            .ValidateOnStart();

        builder.Services.AddSingleton(services => new CallerTokenValidator(
            services.GetRequiredService<IOptions<CallerTokenOptions>>().Value.PublicKeyPath!, serviceName));

        builder.Services.AddProblemDetails();
        builder.Services
            .AddAuthentication(CallerTokenDefaults.AuthenticationScheme)
            .AddJwtBearer(CallerTokenDefaults.AuthenticationScheme, options =>
            {
                // Claims as the gateway wrote them ("sub", "units", "cnf"), not renamed to Microsoft's URIs.
                options.MapInboundClaims = false;
                options.Events = CallerTokenEvents();
            })
            .AddCertificate(CallerTokenDefaults.CertificateScheme)
            .AddCertificateCache();
        // The certificate handler logs the subject of every certificate it looks at; one presented to a service's port
        // by mistake may be a personal one that names a person. Refusals are logged by their reason (AccessRefusals).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Authentication.Certificate.CertificateAuthenticationHandler", LogLevel.None);

        builder.Services.AddOptions<JwtBearerOptions>(CallerTokenDefaults.AuthenticationScheme)
            .Configure<CallerTokenValidator>((options, validator) => options.TokenValidationParameters = validator.Parameters);
        builder.Services.AddOptions<CertificateAuthenticationOptions>(CallerTokenDefaults.CertificateScheme)
            .Configure<IOptions<ServiceTlsOptions>>((options, tls) =>
            {
                options.AllowedCertificateTypes = CertificateTypes.Chained;
                // The internal CA and nothing else: not the machine's store, not the client CA of client systems.
                options.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                options.CustomTrustStore = InternalTls.LoadAuthorities(tls.Value.ClientCaPath!);
                // The internal CA publishes no revocation list: it issues to the hub's own processes only, from keys on
                // this machine, and a compromised one is answered by a new internal CA (docs/security.md, "Keys").
                options.RevocationMode = X509RevocationMode.NoCheck;
                options.ValidateCertificateUse = true;
                options.ValidateValidityPeriod = true;
            });

        // A fallback policy, rather than RequireAuthorization on each group, means a forgotten endpoint is closed.
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(CallerTokenDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .Build());

        return builder;
    }

    private static JwtBearerEvents CallerTokenEvents() => new()
    {
        OnMessageReceived = context =>
        {
            var header = context.Request.Headers[CallerTokenDefaults.HeaderName];
            if (header.Count == 0)
            {
                // Not even an Authorization header: the caller token travels in its own header and nowhere else.
                context.NoResult();
            }
            else if (header.Count > 1)
            {
                // Two tokens would make "who is calling" ambiguous; the gateway always sends exactly one.
                context.Fail(MultipleTokens);
            }
            else
            {
                context.Token = header.ToString();
            }

            return Task.CompletedTask;
        },
        OnTokenValidated = async context =>
        {
            if (string.IsNullOrEmpty(context.Principal?.FindFirst(CallerTokenDefaults.SubjectClaim)?.Value))
            {
                context.Fail(MissingSubject);
                return;
            }

            // The certificate this connection was made with, judged against the internal CA; then the token must name it.
            var certificate = await context.HttpContext.AuthenticateAsync(CallerTokenDefaults.CertificateScheme);
            if (!certificate.Succeeded)
            {
                context.Fail(NoTrustedCertificate);
                return;
            }

            var presented = await context.HttpContext.Connection.GetClientCertificateAsync(context.HttpContext.RequestAborted);
            if (!CertificateBinding.IsBoundTo(context.Principal, presented))
            {
                context.Fail(NotBound);
            }
        },
        OnChallenge = async context =>
        {
            context.HandleResponse();
            AccessRefusals.Mark(context.HttpContext, context.AuthenticateFailure?.Message switch
            {
                null => "no-caller-token",
                NoTrustedCertificate => "no-hop-certificate",
                NotBound => "caller-token-not-bound",
                _ => "caller-token-invalid",
            });
            await WriteProblemAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", "Authentication is required.");
        },
        OnForbidden = context =>
        {
            AccessRefusals.Mark(context.HttpContext, "caller-not-allowed");
            return WriteProblemAsync(context.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "The caller is not allowed to do this.");
        },
    };

    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        var problems = context.RequestServices.GetService<IProblemDetailsService>();
        if (problems is null || !await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json");
        }
    }

    private static bool CanLoadAuthorities(string? path)
    {
        try
        {
            return !string.IsNullOrWhiteSpace(path) && File.Exists(path) && InternalTls.LoadAuthorities(path).Count > 0;
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException)
        {
            return false;
        }
    }
}
