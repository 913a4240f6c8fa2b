using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.ServiceDefaults.Telemetry;
using Yarp.ReverseProxy.Model;

namespace FamiljecentralHub.Gateway.Audit;

/// <summary>One refusal as it happened, before it is counted in with its like.</summary>
internal readonly record struct AccessRefusal(string Client, string Route, string? Unit, string Reason, int Status, DateTimeOffset At);

/// <summary>
/// Takes every refusal the gateway makes or relays and never makes the request wait for it: a bounded channel, and
/// when it is full (Ops away, or a flood beyond what it drains) the refusal is dropped and counted
/// (metric hub.gateway.access_refusals.dropped) rather than held in memory or made to block a request thread.
/// </summary>
internal sealed class AccessRefusalRecorder(Func<ClientRegistry> registry, TimeProvider clock)
{
    public const int Capacity = 10_000;

    private static readonly Counter<long> DroppedCounter =
        TelemetryExtensions.Meter.CreateCounter<long>("hub.gateway.access_refusals.dropped", description: "Refusals not recorded: the queue to Ops was full.");

    // FullMode Wait, written only with TryWrite: that never waits, and (unlike the Drop modes, which drop silently and
    // report success) says false when full, so the drop can be counted.
    private readonly Channel<AccessRefusal> channel = Channel.CreateBounded<AccessRefusal>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    private long dropped;

    public ChannelReader<AccessRefusal> Reader => channel.Reader;

    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>A refusal of a request by a known or unknown client, for a route of this gateway.</summary>
    public void Record(HttpContext context, string reason, string? route = null, string? unit = null)
    {
        var client = context.GetGatewayClient()?.Id ?? CertificateName(context.Connection.ClientCertificate);
        var routeId = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId;
        route ??= routeId is null ? "(no route)" : $"/{routeId}/**";
        Write(new AccessRefusal(client, route, unit ?? ClaimedUnit(context.Request.Path), reason, context.Response.StatusCode, clock.GetUtcNow()));
    }

    private void Write(AccessRefusal refusal)
    {
        if (!channel.Writer.TryWrite(refusal))
        {
            Interlocked.Increment(ref dropped);
            DroppedCounter.Add(1);
        }
    }

    /// <summary>
    /// The certificate by a prefix of its SHA-256 thumbprint: enough to find it, and never its subject, which for a
    /// personal certificate presented by mistake is a person's name.
    /// </summary>
    private static string CertificateName(X509Certificate2? certificate) =>
        certificate is null ? "(no certificate)" : "certificate:" + Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256))[..16];

    /// <summary>"/{service}/units/{unit}/…": the unit, when it is one the gateway knows; the path is not kept otherwise.</summary>
    private string? ClaimedUnit(PathString path)
    {
        var segments = (path.Value ?? "").Split('/', 4, StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 3 || segments[1] != "units")
        {
            return null;
        }

        var unit = Uri.UnescapeDataString(segments[2]);
        return registry().Units.Contains(unit) ? unit : AccessRefusals.UnknownUnit;
    }
}
