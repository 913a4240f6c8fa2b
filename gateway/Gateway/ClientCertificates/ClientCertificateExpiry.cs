using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FamiljecentralHub.ServiceDefaults.Telemetry;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// The earliest NotAfter of the certificates each registered client has presented lately, as the gauge
/// <c>hub_gateway_client_certificate_expiry_time_seconds{client}</c> (Unix seconds): Ops and Prometheus alert 30 days
/// ahead (docs/alerts.md). Labelled by the registered client id alone, never a certificate's subject (a personal
/// certificate presented by mistake carries a name). A certificate not presented for <see cref="ForgetAfter"/> drops
/// out, so a client that has moved to its renewed certificate stops being reported by the old one.
/// </summary>
internal static class ClientCertificateExpiry
{
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromDays(7);

    // Keyed by client and NotAfter: two certificates of one client that expire together say the same thing.
    private static readonly ConcurrentDictionary<(string Client, DateTime NotAfter), long> LastSeen = new();

    static ClientCertificateExpiry() =>
        TelemetryExtensions.Meter.CreateObservableGauge(HubMetrics.ClientCertificateExpiry, Measure, unit: "s",
            description: "The earliest NotAfter of the client certificates each registered client presented lately, Unix seconds.");

    public static void Seen(string clientId, DateTime notAfter)
    {
        var now = Environment.TickCount64;
        var key = (clientId, notAfter.ToUniversalTime());
        // One write a minute per certificate at most: this runs on every request.
        if (!LastSeen.TryGetValue(key, out var seen) || now - seen > 60_000)
        {
            LastSeen[key] = now;
        }
    }

    internal static IEnumerable<Measurement<double>> Measure()
    {
        var cutoff = Environment.TickCount64 - (long)ForgetAfter.TotalMilliseconds;
        foreach (var stale in LastSeen.Where(entry => entry.Value < cutoff).Select(entry => entry.Key).ToList())
        {
            LastSeen.TryRemove(stale, out _);
        }

        return LastSeen.Keys
            .GroupBy(key => key.Client, StringComparer.Ordinal)
            .Select(client => new Measurement<double>(
                new DateTimeOffset(client.Min(key => key.NotAfter), TimeSpan.Zero).ToUnixTimeSeconds(),
                new KeyValuePair<string, object?>("client", client.Key)));
    }
}
