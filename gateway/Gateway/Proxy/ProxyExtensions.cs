using System.Net;
using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.Gateway.Problems;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace FamiljecentralHub.Gateway.Proxy;

internal static class ProxyExtensions
{
    /// <summary>One route per service, <c>/{name}/{**rest}</c>, forwarded to cluster <c>name</c> without the prefix.</summary>
    public static WebApplicationBuilder AddHubProxy(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ServiceHopOptions>()
            .BindConfiguration(ServiceHopOptions.SectionName)
            .Validate(ServiceHopOptions.IsComplete, "ServiceHop:CaPath, ServiceHop:ClientCertificatePath and ServiceHop:ClientKeyPath must name existing files.")
            .ValidateOnStart();
        builder.Services.AddSingleton(services => new ServiceHop(services.GetRequiredService<IOptions<ServiceHopOptions>>().Value));
        builder.Services.AddSingleton<IForwarderHttpClientFactory, ServiceHopHttpClientFactory>();

        // Every token names the gateway's hop certificate (RFC 8705): a service takes it only on a connection made with it.
        builder.Services.AddSingleton(services => new CallerTokenIssuer(
            services.GetRequiredService<IOptions<CallerTokenOptions>>().Value.PrivateKeyPath!,
            services.GetRequiredService<ServiceHop>().ClientCertificate,
            services.GetService<TimeProvider>()));

        builder.Services.AddSingleton<IProxyConfigProvider>(services =>
        {
            var addresses = services.GetRequiredService<IOptions<ServiceAddressOptions>>().Value;
            var limits = services.GetRequiredService<IOptions<GatewayOptions>>().Value.Limits;
            return new InMemoryConfigProvider(BuildRoutes(), BuildClusters(addresses, limits.ConnectionsPerInstance));
        });

        builder.Services.AddReverseProxy().AddTransforms(context =>
        {
            // No X-Forwarded-* of our own either: services learn who calls from the caller token, nothing else.
            context.UseDefaultForwarders = false;
            context.RequestTransforms.Add(new CallerHeaderTransform(
                context.Services.GetRequiredService<CallerTokenIssuer>(), context.Route.RouteId));
            // Which server software runs behind the gateway is nobody's business outside it.
            context.AddResponseHeaderRemove("Server", ResponseCondition.Always);
            context.RecordServiceRefusals();
        });

        return builder;
    }

    public static WebApplication MapHubProxy(this WebApplication app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(WriteForwardingErrorsAsProblems);
            proxy.Use(KeepServiceInternalsInside);
            proxy.Use(RequireRouteAllowedForClient);
            proxy.Use(TryAnotherInstanceWhenRefused);
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        app.MapFallback("{**path}", GatewayProblems.NotFound);
        return app;
    }

    /// <summary>
    /// A service's health and metrics are for the platform that runs it, on the service's own port; through the gateway
    /// they do not exist. Judged on the first non-empty segment, case-insensitively, as the service's router would.
    /// </summary>
    private static Task KeepServiceInternalsInside(HttpContext context, RequestDelegate next)
    {
        // Segments as the service's router sees them once the gateway has removed the prefix: empty ones do not count.
        var segments = (context.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length > 1 && (segments[1].Equals("metrics", StringComparison.OrdinalIgnoreCase) || segments[1].Equals("health", StringComparison.OrdinalIgnoreCase))
            ? GatewayProblems.NotFound(context)
            : next(context);
    }

    private static Task RequireRouteAllowedForClient(HttpContext context, RequestDelegate next)
    {
        var route = context.GetReverseProxyFeature().Route.Config.RouteId;
        if (context.GetGatewayClient()?.MayUse(route) == true)
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.RequestServices.GetRequiredService<AccessRefusalRecorder>().Record(context, "route-not-allowed");
        return GatewayProblems.Forbidden(context);
    }

    // An instance that has just crashed stays in the rotation until a probe or the failure rate takes it out, and
    // until then YARP would answer 502 to every request sent its way. A refused connection means the instance never
    // saw the request (not a byte of its body was read), so it is safe to send to another instance, whatever the
    // method. Any other failure may have reached the service and is not repeated.
    private static async Task TryAnotherInstanceWhenRefused(HttpContext context, RequestDelegate next)
    {
        var proxy = context.GetReverseProxyFeature();
        var untried = proxy.AvailableDestinations.ToList();
        while (true)
        {
            await next(context);
            if (proxy.ProxiedDestination is not { } refused || !WasRefused(context) || context.Response.HasStarted)
            {
                return;
            }

            untried.Remove(refused);
            if (untried.Count == 0)
            {
                return;
            }

            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            proxy.ProxiedDestination = null;
            proxy.AvailableDestinations = untried.ToArray();
        }
    }

    private static bool WasRefused(HttpContext context) => context.GetForwarderErrorFeature() is
    {
        Error: ForwarderError.Request,
        Exception: HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError },
    };

    // YARP answers its own failures (service down, timeout, body too large while streaming) with a bare status
    // code; the contract is a ProblemDetails for every error, with nothing about the service behind it.
    private static async Task WriteForwardingErrorsAsProblems(HttpContext context, RequestDelegate next)
    {
        await next(context);
        if (context.GetForwarderErrorFeature() is not null && !context.Response.HasStarted)
        {
            await GatewayProblems.ForStatus(context, context.Response.StatusCode);
        }
    }

    private static List<RouteConfig> BuildRoutes() =>
    [
        .. ServiceAddressOptions.ServiceNames.Select(name => new RouteConfig
        {
            RouteId = name,
            ClusterId = name,
            Match = new RouteMatch { Path = $"/{name}/{{**rest}}" },
        }.WithTransformPathRemovePrefix($"/{name}")),
    ];

    private static List<ClusterConfig> BuildClusters(ServiceAddressOptions addresses, int connectionsPerInstance) =>
        [.. ServiceAddressOptions.ServiceNames.Select(name => BuildCluster(name, addresses.AddressesOf(name), connectionsPerInstance))];

    private static ClusterConfig BuildCluster(string name, IReadOnlyList<Uri> instances, int connectionsPerInstance) => new()
    {
        ClusterId = name,
        // A bounded pool per instance (GatewayLimitsOptions.ConnectionsPerInstance): requests beyond it queue here.
        HttpClient = new HttpClientConfig { MaxConnectionsPerServer = connectionsPerInstance },
        Destinations = instances.Select((address, index) => (address, index)).ToDictionary(
            instance => instance.index == 0 ? name : $"{name}-{instance.index + 1}",
            instance => new DestinationConfig { Address = instance.address.ToString() },
            StringComparer.Ordinal),
        // With several instances a crashed one must leave the rotation: probed every two seconds, and taken out at
        // once when a request to it fails in transport. With one there is nowhere else to go; YARP's own answer
        // (502, as a ProblemDetails) says so.
        HealthCheck = instances.Count == 1 ? null : new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = TimeSpan.FromSeconds(2),
                Timeout = TimeSpan.FromSeconds(1),
                Policy = "ConsecutiveFailures",
                Path = "/health/ready",
            },
            Passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = "TransportFailureRate",
                ReactivationPeriod = TimeSpan.FromSeconds(5),
            },
        },
        // HTTP/1.1 over TLS, as before over plain HTTP: a pool of connections per service, where HTTP/2 would put
        // every request on one.
        HttpRequest = new ForwarderRequestConfig
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        },
    };
}
