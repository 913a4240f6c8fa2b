namespace FamiljecentralHub.ServiceDefaults.Security;

/// <summary>Bound from the <c>CallerToken</c> configuration section.</summary>
public sealed class CallerTokenOptions
{
    /// <summary>PEM (SubjectPublicKeyInfo) of the gateway's token key; needed by every service.</summary>
    public string? PublicKeyPath { get; set; }

    /// <summary>PEM (PKCS#8) of the gateway's token key; needed by the gateway only.</summary>
    public string? PrivateKeyPath { get; set; }
}
