using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// Every port the broker and the database open listens on loopback only: AMQP, the management API, PostgreSQL, and
/// also the ones no client is meant to use, which are the dangerous ones: the Erlang distribution port (whoever reaches
/// it with the cookie runs code in the broker) and epmd. Read from the kernel's socket tables, so a listener this
/// harness does not know of is caught too.
/// </summary>
[Collection(PrivateNodesCollection.Name)]
[UnsupportedOSPlatform("windows")]
public sealed class LoopbackListenerTests(PrivateNodesFixture nodes)
{
    [Fact]
    public void RabbitMq_ListensOnLoopbackOnly_DistributionAndEpmdIncluded()
    {
        var beam = nodes.Rabbit.BeamPid.ShouldNotBeNull();
        var listeners = Listeners.Of([beam, .. Listeners.Descendants(beam), .. Listeners.ProcessesNamed("epmd")]);

        listeners.ShouldNotBeEmpty();
        listeners.Select(l => l.Port).ShouldContain(nodes.Rabbit.DistributionPort, "the distribution port is among those checked");
        listeners.Where(l => !IPAddress.IsLoopback(l.Address)).ShouldBeEmpty();
    }

    [Fact]
    public void Postgres_ListensOnLoopbackOnly()
    {
        var postmaster = nodes.Postgres.PostmasterPid.ShouldNotBeNull();
        var listeners = Listeners.Of([postmaster, .. Listeners.Descendants(postmaster)]);

        listeners.ShouldNotBeEmpty();
        listeners.Where(l => !IPAddress.IsLoopback(l.Address)).ShouldBeEmpty();
    }
}

/// <summary>Listening TCP sockets by owning process, from /proc/net/tcp{,6} and each process's open descriptors.</summary>
internal static class Listeners
{
    private const string Listen = "0A";

    public sealed record Listener(int Pid, IPAddress Address, int Port)
    {
        public override string ToString() => $"pid {Pid} on {Address}:{Port}";
    }

    public static IReadOnlyList<Listener> Of(IEnumerable<int> pids)
    {
        var sockets = ListeningSockets();
        return [.. pids.Distinct().SelectMany(pid => SocketInodes(pid).Where(sockets.ContainsKey).Select(inode => new Listener(pid, sockets[inode].Address, sockets[inode].Port)))];
    }

    public static IEnumerable<int> Descendants(int pid) =>
        UnixProcess.Children(pid).SelectMany(child => (IEnumerable<int>)[child, .. Descendants(child)]);

    public static IEnumerable<int> ProcessesNamed(string name) =>
        Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(entry => entry!.All(char.IsAsciiDigit))
            .Select(entry => int.Parse(entry!, CultureInfo.InvariantCulture)).Where(pid => Read($"/proc/{pid}/comm")?.Trim() == name);

    private static Dictionary<long, (IPAddress Address, int Port)> ListeningSockets()
    {
        var sockets = new Dictionary<long, (IPAddress, int)>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] != Listen)
                {
                    continue;
                }
                var local = fields[1].Split(':');
                sockets[long.Parse(fields[9], CultureInfo.InvariantCulture)] =
                    (Address(local[0]), int.Parse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        return sockets;
    }

    // The kernel prints each 32-bit word of the address in host (little-endian) order.
    private static IPAddress Address(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        for (var word = 0; word < bytes.Length; word += 4)
        {
            Array.Reverse(bytes, word, 4);
        }
        var address = new IPAddress(bytes);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    private static IEnumerable<long> SocketInodes(int pid)
    {
        string[] descriptors;
        try
        {
            descriptors = Directory.GetFiles($"/proc/{pid}/fd");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var descriptor in descriptors)
        {
            var target = new FileInfo(descriptor).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                yield return long.Parse(target["socket:[".Length..^1], CultureInfo.InvariantCulture);
            }
        }
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
