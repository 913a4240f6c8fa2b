using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// With the broker as a cluster, a referral goes through as on a single node, and keeps going through when the node
/// that leads the gate's queue dies: the services reconnect to the other nodes, where the queue has its other members.
/// </summary>
public sealed class BrokerClusterTests(ClusterHubFixture fixture) : IClassFixture<ClusterHubFixture>
{
    private const string GateQueue = "consent-gate";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Referral_OnThreeBrokerNodes_IsDeliveredAndStillIsOnceTheGateLeadersNodeIsKilled()
    {
        var hub = fixture.Hub;
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        var gate = await hub.Rabbit.GetManagementAsync($"queues/{Uri.EscapeDataString(hub.VirtualHost)}/{GateQueue}", Ct);
        gate.GetProperty("members").EnumerateArray().Select(member => member.GetString())
            .ShouldBe(hub.RabbitNodes.Select(node => node.NodeName), ignoreOrder: true);

        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ReferAndWaitUntilDeliveredAsync(hub, bvc, subject, "cluster-1");

        // The worst node to lose: the hub declared the gate's queue through node 1, so its leader is there, and
        // every service connects to node 1 first, so the gate's consumer is there too.
        var leader = await hub.QueueLeaderAsync(GateQueue, Ct);
        (await ConnectionNodesAsync(hub, "consent")).ShouldBe([leader.NodeName]);
        await leader.KillAsync(Ct);
        (await hub.QueueLeaderAsync(GateQueue, Ct)).ShouldNotBe(leader);

        await ReferAndWaitUntilDeliveredAsync(hub, bvc, subject, "cluster-2");
        (await ConnectionNodesAsync(hub, "consent")).ShouldNotContain(leader.NodeName);
    }

    /// <summary>
    /// The nodes a service's broker connections are on, as a running node's management API lists them. The listing
    /// comes from statistics the nodes send now and then, and under load it has been empty for a while: asked again
    /// for up to 15 s until it names any.
    /// </summary>
    private static async Task<IReadOnlyList<string>> ConnectionNodesAsync(Hub hub, string service)
    {
        var user = hub.BrokerAccount(service).User;
        var answering = hub.RabbitNodes.First(node => node.BeamPid is not null);
        // The callers' assertions judge the listing, an empty one too: the wait only gives the statistics their time.
        return await Eventually.MatchOrLastAsync<IReadOnlyList<string>>(
            async () =>
            {
                var connections = await answering.GetManagementAsync("connections?columns=node,user", Ct);
                return [.. connections.EnumerateArray()
                    .Where(connection => connection.GetProperty("user").GetString() == user)
                    .Select(connection => connection.GetProperty("node").GetString()!)
                    .Distinct()];
            },
            nodes => nodes.Count > 0, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500), Ct);
    }

    /// <summary>
    /// Submits a referral, retrying with the same idempotency key while the sender cannot get the broker's confirm
    /// (503, while it reconnects) or is down (502, while it restarts), and waits until it is delivered.
    /// </summary>
    internal static async Task ReferAndWaitUntilDeliveredAsync(Hub hub, HttpClient sender, string subject, string idempotencyKey, int acceptWithinSeconds = 60)
    {
        var key = $"{idempotencyKey}-{Guid.NewGuid():N}";
        var (_, statusUrl) = await Eventually.MatchAsync(
            async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, DemoRequests.ReferralPath) { Content = JsonContent.Create(DemoRequests.Referral(subject)) };
                request.Headers.Add("Idempotency-Key", key);
                using var response = await sender.SendAsync(request, Ct);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
                    return (response.StatusCode, StatusUrl: body.GetProperty("statusUrl").GetString());
                }

                response.StatusCode.ShouldBeOneOf(HttpStatusCode.ServiceUnavailable, HttpStatusCode.BadGateway);
                return (response.StatusCode, StatusUrl: null);
            },
            answer => answer.StatusCode == HttpStatusCode.Accepted,
            TimeSpan.FromSeconds(acceptWithinSeconds),
            last => $"The referral was not accepted within {acceptWithinSeconds} s; last answer {(int)last.StatusCode}.",
            TimeSpan.FromMilliseconds(500), Ct);

        // A gate whose consumer was wedged by the lost node is restarted by its watchdog only after 35 s without
        // progress, 10 s of grace and a start: on a busy machine that alone may take a minute, and the receiver may need
        // the same after it. What a stall leaves is in the failure message (ClusterDiagnostics).
        JsonElement delivered;
        try
        {
            delivered = await HubFixture.WaitForStatusAsync(sender, statusUrl!, "Delivered", TimeSpan.FromSeconds(240));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}{Environment.NewLine}{await ClusterDiagnostics.DescribeAsync(hub, Ct)}", e);
        }
        delivered.GetProperty("basis").GetString().ShouldBe("consent");
    }
}
