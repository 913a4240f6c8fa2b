using System.Text.Json.Serialization;
using FamiljecentralHub.ServiceDefaults.Health;
using FamiljecentralHub.ServiceDefaults.Input;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using FamiljecentralHub.ServiceDefaults.Tls;
using FamiljecentralHub.Topology;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.OpenApi;

namespace FamiljecentralHub.ServiceDefaults;

/// <summary>What every hub service has, written once: telemetry, health, errors, caller authentication, registry.</summary>
public static class ServiceDefaultsExtensions
{
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName)
    {
        builder.AddHubTelemetry(serviceName);
        builder.AddServiceTls();
        builder.AddCallerAuthentication(serviceName);
        builder.Services.AddProblemDetails();
        builder.AddInputGuard();
        builder.AddCallerRateLimit();
        // Clients reach the service only through the gateway, under its own route prefix: never advertise the
        // internal address.
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Servers = [new OpenApiServer { Url = "/" + serviceName }];
            return Task.CompletedTask;
        }));
        // Named values only: a number is not one of them (the API's vocabulary is its names; BodyInspector refuses the rest).
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(allowIntegerValues: false)));
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        builder.Services.AddOptions<PseudonymOptions>().BindConfiguration(PseudonymOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Pseudonymizer>();
        builder.Services.AddOptions<OrganisationOptions>().BindConfiguration(OrganisationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<OrganisationRegistry>();
        // Which service this process is: it publishes its lifecycle events under this name (StatusRoutes).
        builder.Services.AddSingleton(Catalogue.Named(serviceName));
        builder.Services.AddSingleton(TimeProvider.System);
        // For AccessRefusals.MarkCurrent: a refusal made where no HttpContext is passed is still told to the gateway.
        builder.Services.AddHttpContextAccessor();
        return builder;
    }

    /// <summary>
    /// Liveness, readiness and metrics, anonymous on the service's own port: they reveal no data, only states and counts,
    /// and the gateway does not forward them.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseExceptionHandler();
        // Inside the handler, which logs what reaches it: a PostgreSQL error quotes the value it refused (its Where and
        // Detail), so it leaves as its SQLSTATE alone.
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (e is not MetadataOnlyPostgresException && MetadataOnlyPostgresException.For(e) is { } metadataOnly)
            {
                throw metadataOnly;
            }
        });
        app.UseStatusCodePages();
        app.UseUtf8JsonBodies();
        app.UseAuthentication();
        app.UseCallerRateLimit();
        app.UseAuthorization();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = c => c.Tags.Contains("live"), ResponseWriter = HealthResponse.WriteAsync }).AllowAnonymous();
        app.MapOpenApi();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") || c.Tags.Contains("live"), ResponseWriter = HealthResponse.WriteAsync }).AllowAnonymous();
        app.MapMetrics().AllowAnonymous();
        // Not anonymous: for operations clients through the gateway, within their scope (the console's dead letters).
        app.MapErrorQueueApi();
        return app;
    }
}
