using System.Security.Claims;
using FamiljecentralHub.Ops.Features.Console;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Tls;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace FamiljecentralHub.Ops.Features.Alerts;

/// <summary>Open alerts, oldest first, and those cleared within Alerts:RecentFor, latest first.</summary>
public sealed record AlertList(IReadOnlyList<Alert> Open, IReadOnlyList<Alert> Recent);

internal static class AlertsApi
{
    public const int MaxRecent = 500;

    /// <summary>The evaluator, the store, the webhook and the clients they read and push with (docs/alerts.md).</summary>
    public static WebApplicationBuilder AddOpsAlerts(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AlertStore>();
        builder.Services.AddSingleton<AlertSources>();
        builder.Services.AddSingleton<AlertWebhook>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertWebhook>());
        builder.Services.AddSingleton<AlertEvaluator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertEvaluator>());

        builder.Services.AddHttpClient(AlertSources.BrokerClient, http => http.Timeout = TimeSpan.FromSeconds(10)).RemoveAllLoggers();
        // The services' own ports speak HTTPS with certificates from the internal CA; /metrics wants no client certificate.
        builder.Services.AddHttpClient(AlertSources.MetricsClient, http => http.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(sp =>
                sp.GetRequiredService<IOptions<ServiceTlsOptions>>().Value.ClientCaPath is { Length: > 0 } ca && File.Exists(ca)
                    ? InternalTls.CreateHandler(InternalTls.LoadAuthorities(ca), clientCertificate: null)
                    : new SocketsHttpHandler())
            .RemoveAllLoggers();

        var webhook = builder.Services.AddHttpClient(AlertWebhook.ClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();
        webhook.AddResilienceHandler("alert-push", (pipeline, context) =>
        {
            var o = context.ServiceProvider.GetRequiredService<IOptions<AlertOptions>>().Value.Webhook;
            // Polly's telemetry logs the exception's message, which names the receiver's host: metrics only.
            pipeline.ConfigureTelemetry(new TelemetryOptions { LoggerFactory = NullLoggerFactory.Instance });
            if (o.MaxRetryAttempts > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = o.MaxRetryAttempts,
                    Delay = o.RetryBaseDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                });
            }

            pipeline.AddTimeout(o.AttemptTimeout);
        });
        // Below the retries: every attempt is signed afresh.
        webhook.AddHttpMessageHandler(sp => new AlertSigningHandler(sp.GetRequiredService<TimeProvider>()));
        return builder;
    }

    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/alerts", List)
            .WithSummary("Open alerts and those cleared lately, each with its rule, key (queue, unit, service or client id), period and a metadata-only detail; a principal's operators see only their units' alerts.");
        return app;
    }

    /// <summary>
    /// What an operator may see (issue 13, "scoped per principal"): the hub's operators every alert; a principal's only
    /// those about one of its own units (a late message or report of concern, overdue reviews). Queues, services, the
    /// ledger, client certificates and the hub's refusals are the hub's to run.
    /// </summary>
    public static IReadOnlyList<Alert> VisibleTo(OperatorScope scope, IEnumerable<Alert> alerts) =>
        [.. alerts.Where(alert => scope.All
            || (AlertRules.ByUnit.Contains(alert.Rule) && scope.UnitList.Contains(alert.Key, StringComparer.Ordinal)))];

    private static async Task<Results<Ok<AlertList>, ValidationProblem>> List(
        ClaimsPrincipal caller, OrganisationRegistry registry, AlertStore store, IOptionsMonitor<AlertOptions> options, TimeProvider clock,
        CancellationToken cancellationToken, int limit = 100)
    {
        if (limit is < 1 or > MaxRecent)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit is 1 to {MaxRecent}"] });
        }

        var scope = OperatorScope.Of(caller, registry);
        var open = await store.OpenAsync(cancellationToken);
        var recent = await store.RecentAsync(clock.GetUtcNow() - options.CurrentValue.RecentFor, limit, cancellationToken);
        return TypedResults.Ok(new AlertList(VisibleTo(scope, open), VisibleTo(scope, recent)));
    }
}
