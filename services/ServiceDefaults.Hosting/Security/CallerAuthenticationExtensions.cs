using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Security;

public static class CallerAuthenticationExtensions
{
    /// <summary>
    /// Requires a valid caller token addressed to <paramref name="serviceName"/> on every endpoint that does not
    /// opt out with <c>AllowAnonymous</c> (health endpoints do).
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

        builder.Services.AddSingleton(services => new CallerTokenValidator(
            services.GetRequiredService<IOptions<CallerTokenOptions>>().Value.PublicKeyPath!, serviceName));

        builder.Services.AddProblemDetails();
        builder.Services
            .AddAuthentication(CallerTokenDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, CallerAuthenticationHandler>(CallerTokenDefaults.AuthenticationScheme, configureOptions: null);

        // A fallback policy, rather than RequireAuthorization on each group, means a forgotten endpoint is closed.
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(CallerTokenDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .Build());

        return builder;
    }
}
