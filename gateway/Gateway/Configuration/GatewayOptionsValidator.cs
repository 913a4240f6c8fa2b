using System.Net;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Gateway.Configuration;

internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();

        var url = RequireUrl(failures, "Gateway:Url", options.Url, Uri.UriSchemeHttps, "https://127.0.0.1:8443");
        var healthUrl = RequireUrl(failures, "Gateway:HealthUrl", options.HealthUrl, Uri.UriSchemeHttp, "http://127.0.0.1:8081");
        if (healthUrl is not null && !IsLoopback(healthUrl))
        {
            // The health listener has no client authentication at all, so it must never face the network.
            failures.Add("Gateway:HealthUrl must be a loopback address.");
        }

        if (url is not null && healthUrl is not null && url.Port == healthUrl.Port)
        {
            failures.Add("Gateway:Url and Gateway:HealthUrl must use different ports.");
        }

        RequireFile(failures, "Gateway:ServerCertificatePath", options.ServerCertificatePath);
        RequireFile(failures, "Gateway:ServerKeyPath", options.ServerKeyPath);
        RequireFile(failures, "Gateway:ClientCaPath", options.ClientCaPath);
        RequireFile(failures, "Gateway:ClientsPath", options.ClientsPath);

        if (options.Limits.PermitsPerSecond <= 0)
        {
            failures.Add("Gateway:Limits:PermitsPerSecond must be positive.");
        }

        if (options.Limits.Burst <= 0)
        {
            failures.Add("Gateway:Limits:Burst must be positive.");
        }

        if (options.Limits.MaxRequestBodyBytes <= 0)
        {
            failures.Add("Gateway:Limits:MaxRequestBodyBytes must be positive.");
        }

        if (options.Limits.ConnectionsPerInstance <= 0)
        {
            failures.Add("Gateway:Limits:ConnectionsPerInstance must be positive.");
        }

        var inFlight = options.Limits.InFlightPerClient;
        if (inFlight < 0 || (inFlight > 0 && inFlight + Limits.LimitsExtensions.WaitingPlaces(inFlight) >= options.Limits.ConnectionsPerInstance)
            || options.Limits.QueuedPerClient < 0)
        {
            failures.Add("Gateway:Limits:InFlightPerClient, with half as many again for waiting inbox listings, must be below " +
                "ConnectionsPerInstance (0: no limit), QueuedPerClient not negative.");
        }

        if (options.Limits.MaxConnections <= 0 || options.Limits.MaxConnectionsPerAddress <= 0)
        {
            failures.Add("Gateway:Limits:MaxConnections and MaxConnectionsPerAddress must be positive.");
        }
        else if (options.Limits.MaxConnectionsPerAddress > options.Limits.MaxConnections)
        {
            failures.Add("Gateway:Limits:MaxConnectionsPerAddress must not be above MaxConnections.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var address) && IPAddress.IsLoopback(address));

    private static Uri? RequireUrl(List<string> failures, string key, string? value, string scheme, string example)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == scheme && uri.AbsolutePath == "/")
        {
            return uri;
        }

        failures.Add($"{key} must be an absolute {scheme} URL without a path, e.g. {example}.");
        return null;
    }

    private static void RequireFile(List<string> failures, string key, string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
        {
            failures.Add($"{key} must name an existing file.");
        }
    }
}

internal sealed class ServiceAddressOptionsValidator : IValidateOptions<ServiceAddressOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceAddressOptions options)
    {
        var failures = ServiceAddressOptions.ServiceNames
            .Where(service => !options.Addresses.TryGetValue(service, out var addresses)
                || ServiceAddressOptions.Split(addresses) is not { Length: > 0 } urls
                || !urls.All(IsHttpUrl))
            .Select(service => $"Services:{service} must be an absolute https URL, or several separated by commas.")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The hop is mutual TLS or nothing: over plain HTTP the caller token would travel in the clear.
    private static bool IsHttpUrl(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;
}
