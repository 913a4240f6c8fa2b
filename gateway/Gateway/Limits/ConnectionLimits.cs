using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Connections;

namespace FamiljecentralHub.Gateway.Limits;

/// <summary>
/// Open connections to the client endpoint, at most <paramref name="total"/> and at most <paramref name="perAddress"/>
/// from one address. A connection beyond either is closed as it is accepted, before its TLS handshake: a handshake costs
/// the gateway more than the client, and without a bound one host could hold open as many as the process has file
/// descriptors (the runtime raises that limit to the hard limit at start) and their buffers with them. The per-address
/// bound keeps one host from taking every slot from the others. Refusals are counted (hub.gateway.connections.refused),
/// not logged one by one, so a flood cannot flood the log.
/// </summary>
internal sealed partial class ConnectionLimits(int total, int perAddress, ILogger<ConnectionLimits> logger)
{
    private static readonly Counter<long> Refused = TelemetryExtensions.Meter.CreateCounter<long>(
        "hub.gateway.connections.refused", description: "Connections to the client endpoint closed as accepted: too many open in all or from one address.");

    private readonly ConcurrentDictionary<IPAddress, int> byAddress = new();
    private int open;
    private long refusals;

    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (TryEnter(address) is { } refusal)
        {
            Refused.Add(1, new KeyValuePair<string, object?>("reason", refusal));
            if (Interlocked.Increment(ref refusals) % 1000 == 1)
            {
                LogRefused(logger, refusal, Interlocked.Read(ref refusals));
            }
            connection.Abort();
            return;
        }

        try
        {
            await next(connection);
        }
        finally
        {
            Leave(address);
        }
    };

    /// <summary>Takes a slot, or says why there is none ("total" or "address").</summary>
    private string? TryEnter(IPAddress address)
    {
        if (Interlocked.Increment(ref open) > total)
        {
            Interlocked.Decrement(ref open);
            return "total";
        }
        if (byAddress.AddOrUpdate(address, 1, (_, count) => count + 1) > perAddress)
        {
            Leave(address);
            return "address";
        }
        return null;
    }

    private void Leave(IPAddress address)
    {
        Interlocked.Decrement(ref open);
        // Removed only while still at zero, so a connection entering meanwhile keeps its count.
        if (byAddress.AddOrUpdate(address, 0, (_, count) => count - 1) == 0)
        {
            byAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "A connection to the client endpoint was closed as it was accepted: too many open ({Limit}); {Refusals} so far (logged once a thousand).")]
    private static partial void LogRefused(ILogger logger, string limit, long refusals);
}
