using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using FamiljecentralHub.ServiceDefaults.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks;

/// <summary>Resolves a host name to its addresses: the system's DNS, or a test's own answers.</summary>
internal delegate Task<IPAddress[]> ResolveHost(string host, CancellationToken cancellationToken);

/// <summary>
/// Where a push may go: https to a public internet address that is not the hub's own. Checked at registration (the
/// host as it resolves then) and again for every connection (the address actually connected to), so a name that
/// later resolves inside the hub (DNS rebinding) reaches nothing: OWASP API7, server-side request forgery.
/// </summary>
internal sealed class WebhookTargetPolicy
{
    public const string NotAllowed =
        "The webhook host must resolve only to public internet addresses: not loopback, private, link-local, shared, "
        + "multicast, reserved or documentation ranges, nor the hub's own.";

    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan OwnAddressesFor = TimeSpan.FromMinutes(1);

    // IPv4 blocks that are no public host (IANA special-purpose registry, RFC 6890 and successors), as (network, prefix).
    private static readonly (uint Network, int Prefix)[] SpecialIPv4 =
    [
        (0x00000000, 8),  // 0.0.0.0/8 "this network"
        (0x0A000000, 8),  // 10/8 private (RFC 1918)
        (0x64400000, 10), // 100.64/10 shared address space (carrier-grade NAT)
        (0x7F000000, 8),  // 127/8 loopback
        (0xA9FE0000, 16), // 169.254/16 link-local, where cloud metadata services answer
        (0xAC100000, 12), // 172.16/12 private
        (0xC0000000, 24), // 192.0.0/24 IETF protocol assignments
        (0xC0000200, 24), // 192.0.2/24 documentation (TEST-NET-1)
        (0xC0586300, 24), // 192.88.99/24 6to4 relay anycast
        (0xC0A80000, 16), // 192.168/16 private
        (0xC6120000, 15), // 198.18/15 benchmarking
        (0xC6336400, 24), // 198.51.100/24 documentation (TEST-NET-2)
        (0xCB007100, 24), // 203.0.113/24 documentation (TEST-NET-3)
        (0xE0000000, 4),  // 224/4 multicast
        (0xF0000000, 4),  // 240/4 reserved, with 255.255.255.255 broadcast
    ];

    private readonly WebhookOptions options;
    private readonly ResolveHost resolve;
    private readonly TimeProvider clock;
    private readonly HashSet<int> hubPorts;
    private (DateTimeOffset Until, HashSet<IPAddress> Addresses) ownAddresses = (DateTimeOffset.MinValue, []);

    public WebhookTargetPolicy(IOptions<WebhookOptions> options, IConfiguration? configuration, ResolveHost? resolve = null, TimeProvider? clock = null)
    {
        this.options = options.Value;
        this.resolve = resolve ?? ((host, token) => Dns.GetHostAddressesAsync(host, token));
        this.clock = clock ?? TimeProvider.System;
        hubPorts = [.. this.options.ReservedPorts, .. configuration is null ? [] : KnownHubPorts(configuration)];
    }

    public bool LoopbackAllowed => options.TestOnlyAllowLoopbackReceivers;

    /// <summary>The URL's form alone: null when it may be registered as far as that goes, otherwise why not.</summary>
    public string? CheckUrl(string? url, out Uri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(url))
        {
            return "A webhook URL is required.";
        }

        if (url.Length > 2000 || !Uri.TryCreate(url, UriKind.Absolute, out var parsed)
            || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp)
            || parsed.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            return "The webhook URL must be an absolute https URL.";
        }

        // A push carries identity numbers: encrypted in transit, unless a developer or a test said otherwise.
        if (parsed.Scheme == Uri.UriSchemeHttp && !options.AllowPlainHttp && !options.TestOnlyAllowLoopbackReceivers)
        {
            return "The webhook URL must use https.";
        }

        // Credentials belong in the signature, not in a URL that travels through proxies and logs.
        if (!string.IsNullOrEmpty(parsed.UserInfo))
        {
            return "The webhook URL must not carry a user name or password.";
        }

        if (parsed.Fragment.Length > 0)
        {
            return "The webhook URL must not have a fragment.";
        }

        uri = parsed;
        return null;
    }

    /// <summary>At registration: every address the host resolves to now must be allowed (not merely one of them).</summary>
    public async Task<string?> CheckRegistrationAsync(Uri uri, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ResolveTimeout);
        try
        {
            addresses = await ResolveAsync(uri.IdnHost, timeout.Token);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            addresses = [];
        }

        if (addresses.Length == 0)
        {
            // The same answer as for an inside address: which names resolve behind the hub is no client's to learn.
            return NotAllowed;
        }

        var plainHttp = uri.Scheme == Uri.UriSchemeHttp;
        return addresses.All(address => Allows(address, uri.Port, plainHttp)) ? null : NotAllowed;
    }

    /// <summary>An IP literal is its own answer (Uri has already turned 127.1, 2130706433 and 0x7f000001 into 127.0.0.1).</summary>
    public async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var bare = host.TrimStart('[').TrimEnd(']');
        return IPAddress.TryParse(bare, out var literal) ? [literal] : await resolve(bare, cancellationToken);
    }

    /// <summary>Whether a push may connect to this address and port, over plain http or not.</summary>
    public bool Allows(IPAddress address, int port, bool plainHttp)
    {
        var normal = Normalise(address);
        if (IPAddress.IsLoopback(normal))
        {
            return options.TestOnlyAllowLoopbackReceivers && !hubPorts.Contains(port);
        }

        if (!IsPublic(normal) || OwnAddresses().Contains(normal))
        {
            return false;
        }

        return !plainHttp || options.AllowPlainHttp;
    }

    /// <summary>A public internet host: neither one of the special IPv4 blocks nor outside IPv6 global unicast.</summary>
    internal static bool IsPublic(IPAddress address)
    {
        var normal = Normalise(address);
        var bytes = normal.GetAddressBytes();
        if (normal.AddressFamily == AddressFamily.InterNetwork)
        {
            var value = (uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3];
            return !SpecialIPv4.Any(block => (value & (uint.MaxValue << (32 - block.Prefix))) == block.Network);
        }

        if (normal.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last four bytes: judge that one.
        if (bytes.AsSpan(0, 12).SequenceEqual(new byte[] { 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 }))
        {
            return IsPublic(new IPAddress(bytes.AsSpan(12, 4)));
        }

        // Only 2000::/3 is global unicast: this leaves out ::, ::1, IPv4-compatible ::a.b.c.d, fc00::/7 (unique local),
        // fe80::/10 (link-local), fec0::/10, ff00::/8 (multicast), 100::/64 (discard) and 64:ff9b:1::/48 (local NAT64).
        if ((bytes[0] & 0xE0) != 0x20)
        {
            return false;
        }

        if (bytes[0] == 0x20 && bytes[1] == 0x01 && (bytes[2] < 0x02 || (bytes[2] == 0x0d && bytes[3] == 0xb8)))
        {
            return false; // 2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID); 2001:db8::/32 documentation
        }

        if (bytes[0] == 0x20 && bytes[1] == 0x02)
        {
            return IsPublic(new IPAddress(bytes.AsSpan(2, 4))); // 6to4 carries the IPv4 address it reaches
        }

        return !(bytes[0] == 0x3f && bytes[1] == 0xff && (bytes[2] & 0xF0) == 0); // 3fff::/20 documentation
    }

    /// <summary>IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4 address it is, and without an IPv6 scope.</summary>
    private static IPAddress Normalise(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : new IPAddress(address.GetAddressBytes());

    /// <summary>The addresses of this machine's interfaces: a public address of the hub is the hub's own, on every port.</summary>
    private HashSet<IPAddress> OwnAddresses()
    {
        var now = clock.GetUtcNow();
        var cached = ownAddresses;
        if (now < cached.Until)
        {
            return cached.Addresses;
        }

        HashSet<IPAddress> addresses;
        try
        {
            addresses = [.. NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
                .Select(unicast => Normalise(unicast.Address))];
        }
        catch (NetworkInformationException)
        {
            addresses = cached.Addresses; // the last known; loopback and private ranges are refused regardless
        }

        ownAddresses = (now + OwnAddressesFor, addresses);
        return addresses;
    }

    /// <summary>The ports this service knows the hub listens on: its own, its broker's and its database's.</summary>
    private static IEnumerable<int> KnownHubPorts(IConfiguration configuration)
    {
        foreach (var url in (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Uri.TryCreate(url.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal),
                    UriKind.Absolute, out var listening))
            {
                yield return listening.Port;
            }
        }

        var rabbit = configuration.GetSection(RabbitMqOptions.Section).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        foreach (var node in rabbit.AllNodes())
        {
            if (int.TryParse(node[(node.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port))
            {
                yield return port;
            }
        }

        int? databasePort = null;
        try
        {
            databasePort = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString("Database") ?? "").Port;
        }
        catch (ArgumentException)
        {
            // Not ours to judge here; the database extension refuses a bad connection string at start.
        }

        if (databasePort is { } found)
        {
            yield return found;
        }
    }
}

/// <summary>A push refused because the address it would connect to is not allowed (thrown inside the connection callback).</summary>
internal sealed class WebhookTargetRefusedException() : Exception("The webhook's address is not allowed.");
