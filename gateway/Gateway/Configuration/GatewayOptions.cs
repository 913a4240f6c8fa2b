namespace FamiljecentralHub.Gateway.Configuration;

/// <summary>Bound from the <c>Gateway</c> configuration section.</summary>
internal sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>The mutual-TLS endpoint clients call, e.g. https://127.0.0.1:8443.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// A plain-HTTP loopback endpoint serving only health checks: the TLS endpoint demands a client certificate,
    /// which an orchestrator probing for liveness does not have.
    /// </summary>
    public string? HealthUrl { get; set; }

    public string? ServerCertificatePath { get; set; }

    public string? ServerKeyPath { get; set; }

    /// <summary>PEM with the CA certificate(s) client certificates must chain to; nothing else is trusted.</summary>
    public string? ClientCaPath { get; set; }

    /// <summary>
    /// The client CA's certificate revocation list (PEM or DER), read again when it changes. When set, a revoked client
    /// is refused from its next request on, and every client while the list is missing, forged or past its next update.
    /// </summary>
    public string? ClientCrlPath { get; set; }

    /// <summary>JSON file of registered client systems (see deploy/demo/clients.json).</summary>
    public string? ClientsPath { get; set; }

    public GatewayLimitsOptions Limits { get; set; } = new();
}

internal sealed class GatewayLimitsOptions
{
    /// <summary>Sustained requests per second per client; generous, it guards against runaway clients only.</summary>
    public int PermitsPerSecond { get; set; } = 2000;

    /// <summary>How many requests a client may send at once before the sustained rate applies.</summary>
    public int Burst { get; set; } = 2000;

    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Connections to each service instance at most; a request beyond them waits for one to come free. Over HTTP/1.1
    /// each carries one request at a time, so without a bound every request in flight (a hundred on one client's HTTP/2
    /// connection, say) made a TLS connection of its own, and a moment's slowness made hundreds at once.
    /// </summary>
    public int ConnectionsPerInstance { get; set; } = 32;

    /// <summary>
    /// Requests of one client forwarded at once; more wait their turn at the gateway, up to <see cref="QueuedPerClient"/>
    /// (then 429). The connections to a service instance are shared by every client: without this one client's slow
    /// requests (bodies trickled in, say) could hold them all, and every other client's requests to that service waited.
    /// Its waiting inbox listings have half as many places again of their own; both together below
    /// <see cref="ConnectionsPerInstance"/>, so that one client never holds a whole pool; 0 for no limit (the
    /// benchmarks, one client at full speed).
    /// </summary>
    public int InFlightPerClient { get; set; } = 16;

    /// <summary>Requests of one client waiting for one of its <see cref="InFlightPerClient"/> places.</summary>
    public int QueuedPerClient { get; set; } = 1000;

    /// <summary>
    /// Client connections open at once, in all; one beyond is closed as it is accepted (ConnectionLimits). Client
    /// systems keep a few each, so this is room for hundreds of them.
    /// </summary>
    public int MaxConnections { get; set; } = 2048;

    /// <summary>Client connections open at once from one address (an integration platform's many systems behind one).</summary>
    public int MaxConnectionsPerAddress { get; set; } = 512;
}
