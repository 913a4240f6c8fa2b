using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.Gateway.Tests.Fixtures;

/// <summary>A real Kestrel server standing in for every service: it records what reaches it and answers 200.</summary>
internal sealed class EchoBackend : IAsyncDisposable
{
    public const string TestIdHeader = "X-Test-Id";

    private readonly ConcurrentDictionary<string, ReceivedRequest> received = new(StringComparer.Ordinal);
    private WebApplication? app;

    public Uri Address { get; private set; } = null!;

    public static async Task<EchoBackend> StartAsync(CancellationToken cancellationToken)
    {
        var backend = new EchoBackend();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        backend.app = builder.Build();
        backend.app.Run(backend.RecordAsync);
        await backend.app.StartAsync(cancellationToken);
        var address = backend.app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        backend.Address = new Uri(address);
        return backend;
    }

    /// <summary>What the backend saw for the request the test tagged with <paramref name="testId"/>, if it arrived.</summary>
    public ReceivedRequest? Find(string testId) => received.GetValueOrDefault(testId);

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    private async Task RecordAsync(HttpContext context)
    {
        // Read the whole body, as a real service would: that is what makes a too-large chunked body fail.
        long length = 0;
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            length += read;
        }

        var headers = context.Request.Headers.ToDictionary(
            header => header.Key, header => header.Value.Select(value => value ?? string.Empty).ToArray(), StringComparer.OrdinalIgnoreCase);
        var request = new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, length);
        received[context.Request.Headers[TestIdHeader].ToString()] = request;

        await context.Response.WriteAsJsonAsync(new { echoed = true }, context.RequestAborted);
    }
}

internal sealed record ReceivedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string[]> Headers, long BodyLength)
{
    public string[] Header(string name) => Headers.GetValueOrDefault(name) ?? [];
}
