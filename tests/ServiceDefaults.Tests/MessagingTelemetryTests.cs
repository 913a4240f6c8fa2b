using FamiljecentralHub.ServiceDefaults.Messaging;
using MassTransit;
using MassTransit.UsageTracking;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>
/// MassTransit 8.4 and later report "usage telemetry" (host, versions, time zone, endpoint and consumer names) to the
/// vendor's usage-tracking host a few minutes after the bus starts, unless told not to. The hub sends nothing to a
/// vendor: every service's messaging, as AddHubMessaging sets it up, must have it off. Read back from the container
/// the bus is built from (the tracker is what would report), so no broker and no network are needed.
/// </summary>
public sealed class MessagingTelemetryTests
{
    private const string Variable = "MASSTRANSIT_USAGE_TELEMETRY";

    [Fact]
    public async Task AddHubMessaging_AnyService_UsageTelemetryDisabled()
    {
        await using var services = HubMessaging();

        services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled.ShouldBeFalse();
        services.GetRequiredService<IUsageTracker>().ShouldBeOfType<UsageTracker>().Enabled.ShouldBeFalse();
    }

    /// <summary>The tracker lets this variable override the option, so a deployment's environment must not turn it back on.</summary>
    [Fact]
    public async Task AddHubMessaging_EnvironmentAsksForTelemetry_StillDisabled()
    {
        var before = Environment.GetEnvironmentVariable(Variable);
        Environment.SetEnvironmentVariable(Variable, "true");
        try
        {
            await using var services = HubMessaging();

            services.GetRequiredService<IUsageTracker>().ShouldBeOfType<UsageTracker>().Enabled.ShouldBeFalse();
        }
        finally
        {
            Environment.SetEnvironmentVariable(Variable, before);
        }
    }

    private static ServiceProvider HubMessaging()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.AddHubMessaging(_ => { });
        return builder.Services.BuildServiceProvider();
    }
}
