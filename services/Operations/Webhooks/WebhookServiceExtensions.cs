using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;

namespace FamiljecentralHub.Operations.Webhooks;

internal static class WebhookServiceExtensions
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section)
            .Validate<IHostEnvironment>(
                (options, environment) => !options.AllowPlainHttp || environment.IsDevelopment(),
                "Webhooks:AllowPlainHttp is for a developer's machine only (ASPNETCORE_ENVIRONMENT=Development).")
            .ValidateOnStart();
        services.AddSingleton(sp => new WebhookTargetPolicy(sp.GetRequiredService<IOptions<WebhookOptions>>(), sp.GetRequiredService<IConfiguration>()));
        services.AddWebhookSender();
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }

    /// <summary>
    /// The sender and its HttpClient: IHttpClientFactory's, with Microsoft.Extensions.Http.Resilience's handler running
    /// the push's pipeline. It needs <see cref="IOptions{WebhookOptions}"/>, a <see cref="WebhookTargetPolicy"/> and a
    /// <see cref="TimeProvider"/>.
    /// <para>
    /// Nothing of a push's URL reaches a log: the factory's logging handlers (which write the URL) are removed, and the
    /// pipeline's Polly telemetry logs nowhere (its events carry the exception's message, which names the host and port);
    /// the sender logs the outcome by delivery id and unit. Its metrics stay, named by the pipeline key, never the URL.
    /// </para>
    /// </summary>
    internal static IServiceCollection AddWebhookSender(this IServiceCollection services)
    {
        var client = services.AddHttpClient(WebhookSender.ClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => CreatePrimaryHandler(sp.GetRequiredService<WebhookTargetPolicy>()))
            // The timeouts are the pipeline's.
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan)
            // One handler for the service's life, so one connection pool; PooledConnectionLifetime renews connections.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();
        client
            .AddResilienceHandler("push", (pipeline, context) => ConfigurePipeline(
                pipeline, context.ServiceProvider.GetRequiredService<IOptions<WebhookOptions>>().Value))
            .SelectPipelineBy(_ => request => request.Options.TryGetValue(WebhookSender.PushOption, out var push) ? push.PipelineKey : "");
        // Below the pipeline: every attempt is signed afresh.
        client.AddHttpMessageHandler(sp => new WebhookSigningHandler(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<WebhookSender>();
        return services;
    }

    /// <summary>
    /// The order of the standard HTTP pipeline, outer to inner: total timeout, retry, circuit breaker, attempt timeout.
    /// The breaker sits inside the retry so every attempt counts; once it opens, the retry stops (BrokenCircuitException
    /// is not retried) and no call reaches that URL for the break duration. The retries are one push's, short on
    /// purpose (the rows stay locked meanwhile); the durable schedule between pushes is the database's (next_push_at).
    /// </summary>
    private static void ConfigurePipeline(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, WebhookOptions o)
    {
        pipeline.ConfigureTelemetry(new TelemetryOptions { LoggerFactory = NullLoggerFactory.Instance });
        pipeline.AddTimeout(o.TotalTimeout);
        if (o.MaxRetryAttempts > 0) // Polly requires at least one; zero means the database backoff alone
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(IsOutage(args.Outcome)),
                MaxRetryAttempts = o.MaxRetryAttempts,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                // A longer wait than the few seconds a push may hold its rows belongs to the database's schedule.
                ShouldRetryAfterHeader = false,
            });
        }

        pipeline
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(IsOutage(args.Outcome)),
                FailureRatio = o.BreakerFailureRatio,
                MinimumThroughput = o.BreakerMinimumThroughput,
                SamplingDuration = o.BreakerSamplingDuration,
                BreakDuration = o.BreakDuration,
            })
            .AddTimeout(o.AttemptTimeout);
    }

    /// <summary>Connection failures, timeouts, 5xx, 408 and 429; not a refused address, which is no outage of the receiver.</summary>
    private static bool IsOutage(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception?.InnerException is not WebhookTargetRefusedException && HttpClientResiliencePredicates.IsTransient(outcome);

    /// <summary>
    /// Redirects are not followed and no proxy is used: the signed body goes only where it was registered, and the
    /// address checked is the one connected to. The connection itself resolves the host and connects only to an address
    /// the policy allows, so a name that resolves elsewhere than it did at registration (DNS rebinding) reaches nothing.
    /// </summary>
    internal static SocketsHttpHandler CreatePrimaryHandler(WebhookTargetPolicy policy) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var plainHttp = context.InitialRequestMessage.RequestUri?.Scheme != Uri.UriSchemeHttps;
            var port = context.DnsEndPoint.Port;
            var addresses = (await policy.ResolveAsync(context.DnsEndPoint.Host, cancellationToken))
                .Where(address => policy.Allows(address, port, plainHttp))
                .ToArray();
            if (addresses.Length == 0)
            {
                throw new WebhookTargetRefusedException();
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(addresses, port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
