using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.Topology;
using RabbitMQ.Client;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Fail closed, lose nothing: while the consent store cannot be reached the gate decides nothing and delivers nothing,
/// and the message waits in the broker until the store is back, however long that takes. The same holds while the broker
/// rejects what the services publish: a nack is the broker's fault, not the message's.
/// </summary>
public sealed class FailClosedTests(PrivateHubFixture fixture) : IClassFixture<PrivateHubFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gate_WhileTheConsentStoreIsDown_HoldsTheReferralAndDeliversItOnceTheStoreIsBack()
    {
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        using var social = fixture.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        await fixture.Hub.Postgres.StopAsync(Ct);
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        // Longer than every bounded retry: a message that ends up in an error queue would stay there.
        await Task.Delay(TimeSpan.FromSeconds(25), Ct);
        await fixture.Hub.Postgres.StartAsync(Ct);

        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted, "the broker was up, so the submission was accepted");
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var delivered = await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Delivered", TimeSpan.FromSeconds(60));
        delivered.GetProperty("basis").GetString().ShouldBe("consent");
        var inbox = await social.GetFromJsonAsync<JsonElement>(DemoRequests.InboxPath + "?limit=500", Ct);
        inbox.GetProperty("items").EnumerateArray().Count(i => i.GetProperty("subjectId").GetString() == subject).ShouldBe(1);
    }

    /// <summary>
    /// The broker nacks a publish while a quorum queue it routes to has no leader, and RabbitMQ 3.10 goes on nacking a
    /// channel's publishes to that queue after it has one again (docs/fault-injection.md). A consumer whose status event is
    /// nacked must keep its message until the broker takes the event: given up on, the referral would stay Permitted (or
    /// Submitted) in the sender's view, and out of the ledger's and Ops' records, for good. Here a queue that refuses every
    /// message, bound to the status exchange, makes the broker nack every status event (the hub's own queues have no
    /// length limit) for longer than the bounded retries take.
    /// </summary>
    [Fact]
    public async Task GateAndReceiver_WhileTheBrokerNacksTheirStatusEvents_KeepTheReferralAndReportItOnceItAcceptsThem()
    {
        var hub = fixture.Hub;
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var restartsBefore = new[] { "consent", "social-services" }.ToDictionary(service => service, service => hub.Services[service].Restarts);
        var user = $"nack-fault-{Guid.NewGuid():N}";
        var password = Guid.NewGuid().ToString("N");
        var refusing = $"nack-fault-{Guid.NewGuid():N}";
        await hub.Rabbit.CreateUserAsync(user, password, Ct);
        await hub.Rabbit.SetPermissionsAsync(hub.VirtualHost, user, new BrokerPermission($"^{refusing}$", $"^{refusing}$", $"^({refusing}|{Regex.Escape(Queues.StatusExchange)})$"), Ct);
        await using var connection = await new ConnectionFactory
        {
            HostName = hub.Rabbit.Host, Port = hub.Rabbit.AmqpPort, VirtualHost = hub.VirtualHost, UserName = user, Password = password,
        }.CreateConnectionAsync(Ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);
        await channel.QueueDeclareAsync(refusing, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" }, cancellationToken: Ct);
        await channel.QueueBindAsync(refusing, Queues.StatusExchange, routingKey: "#", cancellationToken: Ct);
        HttpResponseMessage submitted;
        try
        {
            submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
            // Longer than every bounded retry (0.1 + 0.5 + 2 + 5 + 10 s): a message parked in an error queue stays there.
            // And longer than the watchdog lets a destination be nacked (30 s) with the redeliveries about 20 s apart.
            await Task.Delay(TimeSpan.FromSeconds(60), Ct);
        }
        finally
        {
            await channel.QueueDeleteAsync(refusing, cancellationToken: CancellationToken.None);
            await hub.Rabbit.DeleteUserAsync(user, CancellationToken.None);
        }

        submitted.StatusCode.ShouldBe(HttpStatusCode.Accepted, "the submission goes to the gate's queue, which takes it");
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var delivered = await HubFixture.WaitForStatusAsync(bvc, body.GetProperty("statusUrl").GetString()!, "Delivered", TimeSpan.FromSeconds(90));
        delivered.GetProperty("basis").GetString().ShouldBe("consent");
        // Their watchdogs took the nacked status events for a broken channel and started them afresh.
        hub.Services["consent"].Restarts.ShouldBeGreaterThan(restartsBefore["consent"], "the gate's Permitted was nacked for a minute");
        hub.Services["social-services"].Restarts.ShouldBeGreaterThan(restartsBefore["social-services"], "the receiver's Delivered was nacked for a minute");
    }
}
