using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// The registered client systems, keyed as SITHS identifies a system: the HSA id in its certificate's subject
/// serialNumber, under the issuer that vouches for it. The common name is a display name any CA may repeat; an issuer
/// and its serialNumber are one system. Chain validation (ClientCertificateValidator) has already decided that the
/// issuer is trusted.
/// </summary>
internal sealed class ClientRegistry
{
    private const string SerialNumberOid = "2.5.4.5";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private readonly FrozenDictionary<(string Issuer, string HsaId), GatewayClient> byIdentity;

    private ClientRegistry(FrozenDictionary<(string Issuer, string HsaId), GatewayClient> byIdentity)
    {
        this.byIdentity = byIdentity;
        Units = byIdentity.Values.SelectMany(client => client.Units).ToFrozenSet(StringComparer.Ordinal);
    }

    public int Count => byIdentity.Count;

    /// <summary>Every unit some client acts for: the units the gateway may name in a refusal record.</summary>
    public FrozenSet<string> Units { get; }

    /// <param name="path">The clients file.</param>
    /// <param name="defaultIssuer">The issuer of a client whose entry names none: the client CA's subject.</param>
    public static ClientRegistry Load(string path, X500DistinguishedName defaultIssuer)
    {
        ClientsFile? file;
        try
        {
            using var stream = File.OpenRead(path);
            file = JsonSerializer.Deserialize<ClientsFile>(stream, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException("Gateway:ClientsPath does not hold valid clients JSON.", ex);
        }

        var clients = new Dictionary<(string, string), GatewayClient>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in file?.Clients ?? [])
        {
            if (string.IsNullOrWhiteSpace(entry.Id))
            {
                throw new InvalidOperationException("Every client in Gateway:ClientsPath needs an id.");
            }

            if (!ClientId.IsWellFormed(entry.Id))
            {
                // The ledger records it as the acting system: the gate takes no other shape.
                throw new InvalidOperationException("A client id in Gateway:ClientsPath is letters, digits, '.', '-' and '_', up to 64.");
            }

            if (entry.Id == CallerTokenDefaults.GatewaySubject)
            {
                // Ops takes refusal records only from a token with this subject: no client may speak as the gateway.
                throw new InvalidOperationException($"'{CallerTokenDefaults.GatewaySubject}' is the gateway's own name, not a client id.");
            }

            if (HsaId.Check(entry.HsaId) is not null)
            {
                throw new InvalidOperationException($"Client '{entry.Id}' needs its certificate's HSA id (subject serialNumber), e.g. SE2321000016-BVCEHR.");
            }

            var issuer = entry.Issuer is null ? defaultIssuer.Name : Normalised(entry.Issuer, entry.Id);
            var routes = entry.Routes ?? [];
            var unknownRoute = routes.FirstOrDefault(route => !ServiceAddressOptions.ServiceNames.Contains(route, StringComparer.Ordinal));
            if (unknownRoute is not null)
            {
                // Failing at start beats a client that silently cannot reach what it was registered for.
                throw new InvalidOperationException($"Client '{entry.Id}' lists unknown route '{unknownRoute}'.");
            }

            var duties = entry.Duties ?? [];
            if (duties.FirstOrDefault(duty => !Duties.Known.Contains(duty)) is { } unknownDuty)
            {
                // A misspelt duty would leave staff without the access they were given, or mean something nobody checks.
                throw new InvalidOperationException($"Client '{entry.Id}' lists unknown duty '{unknownDuty}'.");
            }

            // An operations client watches one principal's messages or the hub's; one that names neither would see an
            // unscoped view by accident, or nothing, and a scope on any other client would mean nothing anyone checks.
            var operations = routes.Contains(Catalogue.Ops.Name, StringComparer.Ordinal);
            if (operations != (entry.Operates is not null))
            {
                throw new InvalidOperationException(operations
                    ? $"Client '{entry.Id}' uses the ops route and must say whose messages it watches: \"operates\": a principal's id, or \"{OperatorScopes.Hub}\"."
                    : $"Client '{entry.Id}' names \"operates\" but does not use the ops route.");
            }

            if (entry.Operates is not null && !OperatorScopes.IsWellFormed(entry.Operates))
            {
                throw new InvalidOperationException($"Client '{entry.Id}' has an \"operates\" value that is no principal id.");
            }

            if (!ids.Add(entry.Id) || !clients.TryAdd((issuer, entry.HsaId!), new GatewayClient(
                    entry.Id, entry.HsaId!, issuer, [.. entry.Units ?? []], routes.ToFrozenSet(StringComparer.Ordinal), [.. duties.Distinct(StringComparer.Ordinal)],
                    entry.Operates)))
            {
                throw new InvalidOperationException($"Client '{entry.Id}' is registered twice (id, or issuer and HSA id).");
            }
        }

        return new ClientRegistry(clients.ToFrozenDictionary());
    }

    /// <summary>
    /// Maps a certificate (already chain-validated by the TLS handshake) to a client by its issuer and the HSA id in its
    /// subject's serialNumber. A subject with no serialNumber or several is never matched: there would be no single
    /// identity to trust.
    /// </summary>
    public bool TryFind(X509Certificate2 certificate, out GatewayClient client)
    {
        if (SerialNumberOf(certificate) is { } hsaId && byIdentity.TryGetValue((certificate.IssuerName.Name, hsaId), out var found))
        {
            client = found;
            return true;
        }

        client = null!;
        return false;
    }

    private static string? SerialNumberOf(X509Certificate2 certificate)
    {
        string? serialNumber = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements || rdn.GetSingleElementType().Value != SerialNumberOid)
            {
                continue;
            }

            if (serialNumber is not null)
            {
                return null;
            }

            serialNumber = rdn.GetSingleElementValue();
        }

        return serialNumber;
    }

    /// <summary>A distinguished name as .NET writes a certificate's issuer, so the two compare as strings.</summary>
    private static string Normalised(string issuer, string clientId)
    {
        try
        {
            return new X500DistinguishedName(issuer).Name;
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"Client '{clientId}' names an issuer that is no distinguished name.", ex);
        }
    }

    private sealed record ClientsFile(List<ClientEntry>? Clients);

    private sealed record ClientEntry(string Id, string? HsaId, string? Issuer, List<string>? Units, List<string>? Routes, List<string>? Duties, string? Operates);
}
