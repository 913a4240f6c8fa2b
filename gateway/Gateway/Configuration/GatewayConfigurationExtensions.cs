using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.Configuration;

internal static class GatewayConfigurationExtensions
{
    public static IHostApplicationBuilder AddGatewayOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();

        // Bound by hand: the keys are the service names themselves (Services:consent = http://…).
        builder.Services.AddOptions<ServiceAddressOptions>()
            .Configure<IConfiguration>((options, configuration) =>
            {
                foreach (var service in configuration.GetSection(ServiceAddressOptions.SectionName).GetChildren())
                {
                    options.Addresses[service.Key] = service.Value;
                }
            })
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ServiceAddressOptions>, ServiceAddressOptionsValidator>();

        builder.Services.AddOptions<CallerTokenOptions>()
            .BindConfiguration(CallerTokenDefaults.ConfigurationSection)
            .Validate(
                options => !string.IsNullOrWhiteSpace(options.PrivateKeyPath) && File.Exists(options.PrivateKeyPath),
                "CallerToken:PrivateKeyPath must name an existing PEM file.")
            .ValidateOnStart();

        return builder;
    }
}
