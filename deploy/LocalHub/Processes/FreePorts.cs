using System.Net;
using System.Net.Sockets;

namespace FamiljecentralHub.LocalHub.Processes;

/// <summary>Hands out loopback ports that are free now and not handed out before by this process.</summary>
public static class FreePorts
{
    // Below the kernel's ephemeral range (32768-60999), so an outgoing connection cannot be holding the port by the
    // time a server binds it, and clear of the ports RabbitMQ nodes and its CLI use by default (4369 epmd,
    // 25672 distribution, 35672-35682 rabbitmqctl), and of the distribution ports of the fixed-port cluster's
    // nodes 2 and 3 (HubPorts.FixedFor).
    private const int First = 20000;
    private const int Last = 32000;
    private static readonly HashSet<int> Reserved = [25672, 25673, 25674];
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(First, Last);
                if (!Reserved.Contains(port) && !HandedOut.Contains(port) && IsFree(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }
        throw new LocalHubException($"No free loopback port between {First} and {Last}.");
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
