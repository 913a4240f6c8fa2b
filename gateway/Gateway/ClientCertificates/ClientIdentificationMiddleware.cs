using FamiljecentralHub.Gateway.Audit;
using FamiljecentralHub.Gateway.Problems;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// Turns the (already chain-validated) TLS client certificate into a registered client, or answers 403.
/// An authentication scheme (Microsoft.AspNetCore.Authentication.Certificate) would add nothing: the certificate is the
/// only credential the gateway accepts, Kestrel has already validated its chain, and what is left is one lookup.
/// </summary>
internal sealed partial class ClientIdentificationMiddleware(
    RequestDelegate next,
    ClientRegistry registry,
    ClientRevocations revocations,
    AccessRefusalRecorder refusals,
    ILogger<ClientIdentificationMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate;
        // Checked on every request, not only at the handshake: a client revoked while its connection stays open is
        // refused from its next request on.
        if (certificate is not null && revocations.Check(certificate) is not RevocationStatus.Good and var status)
        {
            LogRevokedCertificate(logger, status);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            refusals.Record(context, status == RevocationStatus.Revoked ? "certificate-revoked" : "revocation-unknown");
            return GatewayProblems.Forbidden(context);
        }

        if (certificate is null || !registry.TryFind(certificate, out var client))
        {
            // The certificate's names are not logged: a personal certificate presented by mistake carries a name.
            LogUnregisteredCertificate(logger, certificate is not null);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            refusals.Record(context, "certificate-not-registered");
            return GatewayProblems.Forbidden(context);
        }

        context.Features.Set(new GatewayClientFeature(client));
        return next(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request refused: client certificate revocation status {Status}.")]
    private static partial void LogRevokedCertificate(ILogger logger, RevocationStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request refused: client certificate not registered (certificate present: {CertificatePresent}).")]
    private static partial void LogUnregisteredCertificate(ILogger logger, bool certificatePresent);
}
