using FamiljecentralHub.Gateway.ClientCertificates;
using FamiljecentralHub.ServiceDefaults.Security;
using Yarp.ReverseProxy.Transforms;

namespace FamiljecentralHub.Gateway.Proxy;

/// <summary>
/// Removes every header a client could use to speak for the hub or to forge its own origin, then adds the one
/// header services trust: a caller token for this route's service. Doing both in one transform guarantees
/// that the strip can never run after the add.
/// </summary>
internal sealed class CallerHeaderTransform(CallerTokenIssuer issuer, string audience) : RequestTransform
{
    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        foreach (var header in context.HttpContext.Request.Headers.Keys)
        {
            if (InternalHeaders.IsStripped(header))
            {
                RemoveHeader(context, header);
            }
        }

        // The identification middleware always runs first; a request without a client must not go anywhere.
        var client = context.HttpContext.GetGatewayClient()
            ?? throw new InvalidOperationException("A request reached the proxy without an identified client.");
        context.ProxyRequest.Headers.TryAddWithoutValidation(
            CallerTokenDefaults.HeaderName, issuer.Issue(client.Id, client.Units, audience, client.Duties, client.Operates));
        return ValueTask.CompletedTask;
    }
}
