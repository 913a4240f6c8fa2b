namespace FamiljecentralHub.Gateway.Proxy;

/// <summary>
/// Inbound headers that never reach a service: the hub's own (X-Hub-*), credentials meant for someone else, and
/// claims about the request's origin that only a trusted hop could make, and a client's baggage (W3C <c>baggage</c>, the
/// older <c>Correlation-Context</c>) and <c>tracestate</c>: the hub reads none, and what a client writes there would ride
/// on into every process it passes. traceparent passes untouched.
/// </summary>
internal static class InternalHeaders
{
    public static bool IsStripped(string header) =>
        header.StartsWith("X-Hub-", StringComparison.OrdinalIgnoreCase)
        || header.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Forwarded", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
        || header.Equals("baggage", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Correlation-Context", StringComparison.OrdinalIgnoreCase)
        || header.Equals("tracestate", StringComparison.OrdinalIgnoreCase);
}
