using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

public sealed record ReceivedPush(string DeliveryId, string Event, string Timestamp, string Signature, string Body, int AnsweredWith);

/// <summary>A receiving system's webhook: a real Kestrel on a free loopback port that records every request.</summary>
public sealed class TestReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private int failuresLeft;

    private TestReceiver(WebApplication app) => this.app = app;

    public ConcurrentQueue<ReceivedPush> Requests { get; } = new();

    public string Url { get; private set; } = "";

    /// <summary>Answer the next <paramref name="count"/> requests with 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref failuresLeft, count);

    public bool AlwaysFail { get; set; }

    /// <summary>How long each answer takes.</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<TestReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = new TestReceiver(builder.Build());
        receiver.app.MapPost("/hook", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync(http.RequestAborted);
            await Task.Delay(receiver.Delay, http.RequestAborted);
            var status = receiver.AlwaysFail || Interlocked.Decrement(ref receiver.failuresLeft) >= 0 ? 500 : 200;
            receiver.Requests.Enqueue(new ReceivedPush(
                http.Request.Headers["X-Hub-Delivery"].ToString(), http.Request.Headers["X-Hub-Event"].ToString(),
                http.Request.Headers["X-Hub-Timestamp"].ToString(), http.Request.Headers["X-Hub-Signature"].ToString(), body, status));
            return Results.StatusCode(status);
        });
        await receiver.app.StartAsync(cancellationToken);
        receiver.Url = receiver.app.Urls.Single() + "/hook?token=not-for-logs";
        return receiver;
    }

    /// <summary>Down: the port refuses connections from now on.</summary>
    public async Task StopAsync() => await app.StopAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
