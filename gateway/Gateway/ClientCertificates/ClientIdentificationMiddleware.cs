using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.Problems;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// What the certificate handler decides beyond the chain: the explicit clientAuth usage. Its verdict is cached
/// (<see cref="ChainVerdictCache"/>); what may change from one request to the next, the revocation list and the
/// registry, is looked up by <see cref="ClientIdentificationMiddleware"/> on every request.
/// </summary>
internal static class ClientIdentification
{
    public const string NotTrusted = "certificate-not-trusted";
    private static readonly string[] Reasons = [NotTrusted, "certificate-revoked", "revocation-unknown", "certificate-not-registered"];
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    public static Task RequireClientUsageAsync(CertificateValidatedContext context)
    {
        if (HasClientAuthenticationUsage(context.ClientCertificate))
        {
            context.Success();
        }
        else
        {
            context.Fail(NotTrusted);
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
/// Lets a request on only as a registered client: a certificate the handler trusts, not revoked by its CA (checked on
/// every request, so a client revoked while its connection stays open is refused from its next request on), and
/// registered under its issuer and HSA id. Anything else is 403, recorded as a refusal with its reason.
/// </summary>
internal sealed partial class ClientIdentificationMiddleware(
    RequestDelegate next,
    ClientTrust trust,
    ClientRevocations revocations,
    AccessRefusalRecorder refusals,
    ILogger<ClientIdentificationMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(CertificateAuthenticationDefaults.AuthenticationScheme);
        var certificate = context.Connection.ClientCertificate;
        string reason;
        if (!result.Succeeded || certificate is null)
        {
            reason = ClientIdentification.ReasonOf(result);
        }
        else if (revocations.Check(certificate) is not RevocationStatus.Good and var status)
        {
            reason = status == RevocationStatus.Revoked ? "certificate-revoked" : "revocation-unknown";
        }
        else if (!trust.Registry.TryFind(certificate, out var client))
        {
            reason = "certificate-not-registered";
        }
        else
        {
            ClientCertificateExpiry.Seen(client.Id, certificate.NotAfter);
            context.Features.Set(new GatewayClientFeature(client));
            context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, client.Id)], CertificateAuthenticationDefaults.AuthenticationScheme));
            await next(context);
            return;
        }

        // The certificate's names are not logged: a personal certificate presented by mistake carries a name.
        LogRefused(logger, reason, certificate is not null);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        refusals.Record(context, reason);
        await GatewayProblems.Forbidden(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request refused: {Reason} (certificate present: {CertificatePresent}).")]
    private static partial void LogRefused(ILogger logger, string reason, bool certificatePresent);
}
