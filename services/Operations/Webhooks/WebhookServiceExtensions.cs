using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.Registry;

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
        services.AddSingleton<ResiliencePipelineRegistry<string>>();
        services.AddSingleton(sp => new WebhookSender(
            CreateHttpClient(sp.GetRequiredService<WebhookTargetPolicy>()), sp.GetRequiredService<ResiliencePipelineRegistry<string>>(),
            sp.GetRequiredService<IOptions<WebhookOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<WebhookSender>>()));
        services.AddHostedService<WebhookDispatcher>();
        return services;
    }

    /// <summary>
    /// A client of its own rather than IHttpClientFactory's: the factory's logging handlers would write the full URL
    /// (query included) to the logs. Redirects are not followed and no proxy is used: the signed body goes only where it
    /// was registered, and the address checked is the one connected to. The connection itself resolves the host and
    /// connects only to an address the policy allows, so a name that resolves elsewhere than it did at registration
    /// (DNS rebinding) reaches nothing. The timeouts are the pipeline's.
    /// </summary>
    internal static HttpClient CreateHttpClient(WebhookTargetPolicy policy) => new(new SocketsHttpHandler
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
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
