using System.Net.Http.Json;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.Gateway.Proxy;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.Audit;

/// <summary>
/// Hands the recorded refusals to Ops once a second, over HTTP with a caller token the gateway signs for itself
/// (subject <see cref="CallerTokenDefaults.GatewaySubject"/>): the gateway gains no broker or database. Identical
/// refusals in one round are one record with a count, so a flood costs Ops one row per kind per second. While Ops is
/// away the records wait, up to <see cref="MaxPending"/> kinds; beyond that they are dropped and counted.
/// </summary>
internal sealed partial class AccessRefusalShipper(
    AccessRefusalRecorder recorder, CallerTokenIssuer issuer, IOptions<ServiceAddressOptions> addresses, ServiceHop hop, TimeProvider clock,
    ILogger<AccessRefusalShipper> logger) : BackgroundService
{
    public const int MaxPending = 5_000;
    public const int BatchSize = 500;

    private static readonly TimeSpan Round = TimeSpan.FromSeconds(1);

    // Over the same mutual TLS as every forwarded request: Ops takes the gateway's token only with its certificate.
    private readonly HttpClient http = new(hop.CreateHandler()) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Dictionary<(string Client, string Route, string? Unit, string Reason, int Status), AccessRefusalRecord> pending = [];
    private long droppedWhilePending;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Round, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            Drain();
            await ShipAsync(stoppingToken);
        }

        Drain();
        await ShipAsync(CancellationToken.None); // the last second's, once, on the way out
    }

    private void Drain()
    {
        while (recorder.Reader.TryRead(out var refusal))
        {
            var key = (refusal.Client, refusal.Route, refusal.Unit, refusal.Reason, refusal.Status);
            if (pending.TryGetValue(key, out var record))
            {
                pending[key] = record with { Count = record.Count + 1, LastAt = refusal.At };
            }
            else if (pending.Count < MaxPending)
            {
                pending[key] = new AccessRefusalRecord(refusal.Client, refusal.Route, refusal.Unit, refusal.Reason, refusal.Status, 1, refusal.At, refusal.At);
            }
            else
            {
                droppedWhilePending++;
            }
        }
    }

    private async Task ShipAsync(CancellationToken cancellationToken)
    {
        while (pending.Count > 0)
        {
            var batch = pending.Take(BatchSize).ToList();
            if (!await PostAsync([.. batch.Select(entry => entry.Value)], cancellationToken))
            {
                return; // kept for the next round
            }

            foreach (var (key, _) in batch)
            {
                pending.Remove(key);
            }
        }

        if (droppedWhilePending > 0)
        {
            LogDropped(logger, droppedWhilePending);
            droppedWhilePending = 0;
        }
    }

    private async Task<bool> PostAsync(IReadOnlyList<AccessRefusalRecord> records, CancellationToken cancellationToken)
    {
        foreach (var ops in addresses.Value.AddressesOf("ops"))
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(ops, "access-refusals"))
                {
                    Content = JsonContent.Create(new AccessRefusalBatch(records)),
                };
                request.Headers.TryAddWithoutValidation(CallerTokenDefaults.HeaderName, issuer.Issue(CallerTokenDefaults.GatewaySubject, [], "ops"));
                using var response = await http.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                LogRefusedByOps(logger, (int)response.StatusCode);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogOpsAway(logger, ex.GetType().Name);
            }
        }

        return false;
    }

    public override void Dispose()
    {
        http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refusal records: Ops answered {Status}; kept for the next round.")]
    private static partial void LogRefusedByOps(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refusal records: Ops not reached ({Failure}); kept for the next round.")]
    private static partial void LogOpsAway(ILogger logger, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refusal records: {Dropped} dropped while Ops was away (more kinds pending than kept).")]
    private static partial void LogDropped(ILogger logger, long dropped);
}
