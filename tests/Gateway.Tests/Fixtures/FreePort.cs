using System.Net;
using System.Net.Sockets;

namespace FamiljecentralHub.Gateway.Tests.Fixtures;

internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
