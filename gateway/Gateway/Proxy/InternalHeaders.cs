namespace FamiljecentralHub.Gateway.Proxy;

/// <summary>
/// Inbound headers that never reach a service: the hub's own (X-Hub-*), credentials meant for someone else, and
/// claims about the request's origin that only a trusted hop could make. traceparent/tracestate pass untouched.
/// </summary>
internal static class InternalHeaders
{
    public static bool IsStripped(string header) =>
        header.StartsWith("X-Hub-", StringComparison.OrdinalIgnoreCase)
        || header.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Forwarded", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Authorization", StringComparison.OrdinalIgnoreCase);
}
