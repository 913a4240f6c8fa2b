using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.Gateway.Tests.Fixtures;

/// <summary>
/// A real Kestrel server standing in for every service: HTTPS with a service certificate from the internal CA, as a
/// service listens; it records what reaches it (with the client certificate the caller presented) and answers 200.
/// </summary>
internal sealed class EchoBackend : IAsyncDisposable
{
    public const string TestIdHeader = "X-Test-Id";

    /// <summary>Milliseconds the backend holds the request before it answers: a slow service.</summary>
    public const string HoldHeader = "X-Test-Hold-Ms";

    private readonly ConcurrentDictionary<string, ReceivedRequest> received = new(StringComparer.Ordinal);
    private WebApplication? app;

    public Uri Address { get; private set; } = null!;

    public static async Task<EchoBackend> StartAsync(X509Certificate2 serverCertificate, CancellationToken cancellationToken)
    {
        var backend = new EchoBackend();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = serverCertificate;
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.ClientCertificateValidation = (_, _, _) => true;
        })));
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
        var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted);
        var request = new ReceivedRequest(
            context.Request.Method, context.Request.Path + context.Request.QueryString, headers, length,
            certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.RawData), context.Connection.Id);
        received[context.Request.Headers[TestIdHeader].ToString()] = request;
        if (int.TryParse(context.Request.Headers[HoldHeader], out var hold))
        {
            await Task.Delay(hold, context.RequestAborted);
        }

        await context.Response.WriteAsJsonAsync(new { echoed = true }, context.RequestAborted);
    }
}

internal sealed record ReceivedRequest(
    string Method, string PathAndQuery, IReadOnlyDictionary<string, string[]> Headers, long BodyLength, X509Certificate2? ClientCertificate,
    string ConnectionId)
{
    public string[] Header(string name) => Headers.GetValueOrDefault(name) ?? [];
}
