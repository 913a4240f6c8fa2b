using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.Problems;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// What the certificate handler decides beyond the chain: a certificate that chains to the client CA is a client only
/// with the explicit clientAuth usage, not revoked by its CA, and registered under its issuer and HSA id. Each refusal
/// carries its reason code as the failure message, for the refusal record.
/// </summary>
internal static class ClientIdentification
{
    public const string NotTrusted = "certificate-not-trusted";
    private static readonly string[] Reasons = [NotTrusted, "certificate-revoked", "revocation-unknown", "certificate-not-registered"];
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    public static Task IdentifyAsync(CertificateValidatedContext context)
    {
        var certificate = context.ClientCertificate;
        var services = context.HttpContext.RequestServices;
        if (!HasClientAuthenticationUsage(certificate))
        {
            context.Fail(NotTrusted);
        }
        else if (services.GetRequiredService<ClientRevocations>().Check(certificate) is not RevocationStatus.Good and var status)
        {
            // Checked on every request: a client revoked while its connection stays open is refused from its next request on.
            context.Fail(status == RevocationStatus.Revoked ? "certificate-revoked" : "revocation-unknown");
        }
        else if (!services.GetRequiredService<ClientTrust>().Registry.TryFind(certificate, out var client))
        {
            context.Fail("certificate-not-registered");
        }
        else
        {
            context.HttpContext.Features.Set(new GatewayClientFeature(client));
            context.Principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, client.Id)], context.Scheme.Name));
            context.Success();
        }

        return Task.CompletedTask;
    }

    /// <summary>A chain that does not build to a CA of the bundle, an expired certificate, a self-signed one.</summary>
    public static Task NotTrustedAsync(CertificateAuthenticationFailedContext context)
    {
        context.Fail(NotTrusted);
        return Task.CompletedTask;
    }

    public static string ReasonOf(AuthenticateResult result) =>
        result.Failure?.Message is { } message && Reasons.Contains(message) ? message : NotTrusted;

    // A certificate without any EKU extension is valid for every purpose as far as chain building is concerned; we
    // demand the explicit clientAuth usage so a server or CA certificate can never pose as a client.
    private static bool HasClientAuthenticationUsage(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .Any(extension => extension.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(oid => oid.Value == ClientAuthentication));
}

/// <summary>
/// Lets a request on only as a registered client, identified by the certificate handler; anything else is 403, recorded
/// as a refusal with its reason.
/// </summary>
internal sealed partial class ClientIdentificationMiddleware(
    RequestDelegate next,
    AccessRefusalRecorder refusals,
    ILogger<ClientIdentificationMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(CertificateAuthenticationDefaults.AuthenticationScheme);
        if (result.Succeeded && context.GetGatewayClient() is not null)
        {
            context.User = result.Principal;
            await next(context);
            return;
        }

        // The certificate's names are not logged: a personal certificate presented by mistake carries a name.
        var reason = ClientIdentification.ReasonOf(result);
        LogRefused(logger, reason, context.Connection.ClientCertificate is not null);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        refusals.Record(context, reason);
        await GatewayProblems.Forbidden(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request refused: {Reason} (certificate present: {CertificatePresent}).")]
    private static partial void LogRefused(ILogger logger, string reason, bool certificatePresent);
}
