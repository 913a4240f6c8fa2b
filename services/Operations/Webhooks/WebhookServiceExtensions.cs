using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace FamiljecentralHub.Operations.Webhooks;

internal static class WebhookServiceExtensions
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section);
        services.AddSingleton<ResiliencePipelineRegistry<string>>();
        services.AddSingleton(sp => new WebhookSender(
            CreateHttpClient(), sp.GetRequiredService<ResiliencePipelineRegistry<string>>(), sp.GetRequiredService<IOptions<WebhookOptions>>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<WebhookSender>>()));
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }

    /// <summary>
    /// A client of its own rather than IHttpClientFactory's: the factory's logging handlers would write the full URL
    /// (query included) to the logs. Redirects are not followed: the signed body goes only where it was registered.
    /// The timeouts are the pipeline's.
    /// </summary>
    internal static HttpClient CreateHttpClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
