using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>A message the watchdog test's consumer receives.</summary>
public sealed record WatchdogProbe(Guid Id);

/// <summary>
/// The receive watchdog on a real MassTransit endpoint over a real broker connection. The wedge it exists for happens
/// inside MassTransit now and then, not on demand; here a consumer that will not finish stands in for the part that
/// hangs, and the broker forces its connection shut as a dying node does.
/// </summary>
public sealed class ReceiveWatchdogTests(HubFixture hub)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MessageInFlightOnAClosedChannel_IsWedged_ButASlowOneOnAnOpenChannelIsNot()
    {
        var rabbit = hub.Hub.Rabbit;
        var user = $"watchdog-test-{Guid.NewGuid():N}";
        var password = Guid.NewGuid().ToString("N");
        await rabbit.CreateUserAsync(user, password, Ct);
        await rabbit.SetPermissionsAsync(hub.Hub.VirtualHost, user, new BrokerPermission(".*", ".*", ".*"), Ct);
        var queue = $"watchdog-test-{Guid.NewGuid():N}";
        var wedgedAfter = TimeSpan.FromSeconds(2);
        var watchdog = new ReceiveWatchdog(NullLogger<ReceiveWatchdog>.Instance, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance))
        {
            WedgedAfter = wedgedAfter,
        };
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbit.Host, (ushort)rabbit.AmqpPort, hub.Hub.VirtualHost, h =>
            {
                h.Username(user);
                h.Password(password);
            });
            cfg.ReceiveEndpoint(queue, endpoint => endpoint.Handler<WatchdogProbe>(async _ =>
            {
                received.TrySetResult();
                await release.Task; // deaf to cancellation, like the send that hangs on a dead connection
            }));
        });
        bus.ConnectReceiveObserver(watchdog);
        await bus.StartAsync(Ct);
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            await endpoint.Send(new WatchdogProbe(Guid.NewGuid()), Ct);
            await received.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            await Task.Delay(wedgedAfter * 2, Ct);
            watchdog.FindWedged().ShouldBeNull("in flight on an open channel for longer than the limit: slow, not wedged");

            (await rabbit.CloseConnectionsAsync(user, Ct)).ShouldBeGreaterThan(0);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            ReceiveWatchdog.InFlight? wedged;
            while ((wedged = watchdog.FindWedged()) is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, Ct);
            }
            wedged.ShouldNotBeNull("a message still in flight after its channel closed is a wedged endpoint");
            wedged.Endpoint.AbsolutePath.ShouldEndWith(queue);
        }
        finally
        {
            release.TrySetResult();
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await bus.StopAsync(stopping.Token);
            await rabbit.DeleteUserAsync(user, CancellationToken.None);
        }
    }
}
