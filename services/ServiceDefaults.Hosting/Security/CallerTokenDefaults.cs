using FamiljecentralHub.Topology;

namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>Names shared by the gateway (which issues caller tokens) and the services (which validate them).</summary>
public static class CallerTokenDefaults
{
    public const string HeaderName = "X-Hub-Caller";

    public const string Issuer = "familjecentralhub-gateway";

    public const string AuthenticationScheme = "Caller";

    public const string ConfigurationSection = "CallerToken";

    public const string SubjectClaim = "sub";

    public const string UnitsClaim = "units";

    /// <summary>The accountability duties the client's staff hold (<see cref="Duties"/>); absent when it holds none.</summary>
    public const string DutiesClaim = "duties";

    /// <summary>Whose messages an operations client's operators watch (<see cref="OperatorScopes"/>); absent on other clients.</summary>
    public const string OperatesClaim = "operates";

    /// <summary>RFC 7800 confirmation: names the key the token is bound to.</summary>
    public const string ConfirmationClaim = "cnf";

    /// <summary>RFC 8705: inside <c>cnf</c>, the base64url SHA-256 of the DER of the client certificate the token is bound to.</summary>
    public const string CertificateThumbprintMember = "x5t#S256";

    /// <summary>The scheme that judges the caller's TLS client certificate (the internal CA's, for client use).</summary>
    public const string CertificateScheme = "HopCertificate";

    /// <summary>
    /// The subject of the token the gateway issues for itself (to hand Ops the refusals it recorded); no client system
    /// may be registered under this id.
    /// </summary>
    public const string GatewaySubject = "hub-gateway";

    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    /// <summary>The audiences a caller token may carry: one per gateway route and service.</summary>
    public static IReadOnlyList<string> Audiences => Catalogue.Names;
}
