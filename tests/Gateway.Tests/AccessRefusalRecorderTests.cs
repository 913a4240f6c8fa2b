using System.Diagnostics;
using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.ClientCertificates;
using Microsoft.AspNetCore.Http;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>A flood of refusals must not hold up requests or grow memory: the queue is bounded, and the excess dropped and counted.</summary>
public sealed class AccessRefusalRecorderTests
{
    [Fact]
    public void Record_QueueFull_DropsAndCountsWithoutWaiting()
    {
        var clients = Path.GetTempFileName();
        File.WriteAllText(clients, """{ "clients": [ { "id": "bvc-ehr", "hsaId": "SE2321000016-BVCEHR", "units": ["rosengard-bvc"], "routes": ["child-health"] } ] }""");
        try
        {
            var registry = ClientRegistry.Load(clients, new("CN=Demo CA"));
            var recorder = new AccessRefusalRecorder(() => registry, TimeProvider.System);
            var context = new DefaultHttpContext();
            context.Request.Path = "/child-health/units/19800101-1234/inbox";

            var watch = Stopwatch.StartNew();
            for (var i = 0; i < AccessRefusalRecorder.Capacity + 250; i++)
            {
                recorder.Record(context, "route-not-allowed");
            }

            watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5)); // no request ever waits on the record
            recorder.Dropped.ShouldBe(250);
            recorder.Reader.TryRead(out var first).ShouldBeTrue();
            // Not a registered unit: what the caller typed in its place is not kept.
            first.Unit.ShouldBe("(unregistered)");
            first.Client.ShouldBe("(no certificate)");
        }
        finally
        {
            File.Delete(clients);
        }
    }
}
