using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace FamiljecentralHub.Gateway.Audit;

internal static class AuditExtensions
{
    public static WebApplicationBuilder AddAccessRefusalAudit(this WebApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services =>
        {
            var trust = services.GetRequiredService<ClientTrust>();
            return new AccessRefusalRecorder(() => trust.Registry, services.GetRequiredService<TimeProvider>());
        });
        builder.Services.AddHostedService<AccessRefusalShipper>();
        return builder;
    }

    /// <summary>
    /// A service's own refusal comes back through the gateway named in X-Hub-Refusal-* headers (AccessRefusals in
    /// ServiceDefaults): recorded here with the client the gateway identified, and the headers removed, so the client
    /// learns nothing more than the 401/403 it got. A 401/403 without them is recorded too, as "refused-by-service".
    /// </summary>
    public static void RecordServiceRefusals(this TransformBuilderContext context)
    {
        var route = context.Route.RouteId;
        context.AddResponseTransform(transform =>
        {
            var response = transform.HttpContext.Response;
            var reason = response.Headers[AccessRefusals.ReasonHeader].ToString();
            var pattern = response.Headers[AccessRefusals.RouteHeader].ToString();
            var unit = response.Headers[AccessRefusals.UnitHeader].ToString();
            response.Headers.Remove(AccessRefusals.ReasonHeader);
            response.Headers.Remove(AccessRefusals.RouteHeader);
            response.Headers.Remove(AccessRefusals.UnitHeader);
            if (response.StatusCode is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
            {
                transform.HttpContext.RequestServices.GetRequiredService<AccessRefusalRecorder>().Record(
                    transform.HttpContext,
                    reason.Length > 0 ? Bounded(reason) : "refused-by-service",
                    pattern.Length > 0 ? $"/{route}{Bounded(pattern)}" : $"/{route}/**",
                    unit.Length > 0 ? Bounded(unit) : null);
            }

            return ValueTask.CompletedTask;
        });
    }

    // The service is trusted, but a record's fields are bounded whatever they hold.
    private static string Bounded(string value) => value.Length <= 200 ? value : value[..200];
}
