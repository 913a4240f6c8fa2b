using System.Collections.Frozen;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.Gateway.Configuration;
using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>The registered client systems, keyed by the common name of their certificate.</summary>
internal sealed class ClientRegistry
{
    private const string CommonNameOid = "2.5.4.3";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private readonly FrozenDictionary<string, GatewayClient> byCertificateName;

    private ClientRegistry(FrozenDictionary<string, GatewayClient> byCertificateName)
    {
        this.byCertificateName = byCertificateName;
        Units = byCertificateName.Values.SelectMany(client => client.Units).ToFrozenSet(StringComparer.Ordinal);
    }

    public int Count => byCertificateName.Count;

    /// <summary>Every unit some client acts for: the units the gateway may name in a refusal record.</summary>
    public FrozenSet<string> Units { get; }

    public static ClientRegistry Load(string path)
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

        var clients = new Dictionary<string, GatewayClient>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in file?.Clients ?? [])
        {
            if (string.IsNullOrWhiteSpace(entry.Id))
            {
                throw new InvalidOperationException("Every client in Gateway:ClientsPath needs an id.");
            }

            if (entry.Id == CallerTokenDefaults.GatewaySubject)
            {
                // Ops takes refusal records only from a token with this subject: no client may speak as the gateway.
                throw new InvalidOperationException($"'{CallerTokenDefaults.GatewaySubject}' is the gateway's own name, not a client id.");
            }

            var certificateName = string.IsNullOrWhiteSpace(entry.CertificateName) ? entry.Id : entry.CertificateName;
            var routes = entry.Routes ?? [];
            var unknownRoute = routes.FirstOrDefault(route => !ServiceAddressOptions.ServiceNames.Contains(route, StringComparer.Ordinal));
            if (unknownRoute is not null)
            {
                // Failing at start beats a client that silently cannot reach what it was registered for.
                throw new InvalidOperationException($"Client '{entry.Id}' lists unknown route '{unknownRoute}'.");
            }

            if (!ids.Add(entry.Id) || !clients.TryAdd(certificateName, new GatewayClient(
                    entry.Id, certificateName, [.. entry.Units ?? []], routes.ToFrozenSet(StringComparer.Ordinal))))
            {
                throw new InvalidOperationException($"Client '{entry.Id}' is registered twice (id or certificate name).");
            }
        }

        return new ClientRegistry(clients.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// Maps a certificate (already chain-validated by the TLS handshake) to a client by its subject CN. A subject
    /// with no CN or several is never matched: there would be no single name to trust.
    /// </summary>
    public bool TryFind(X509Certificate2 certificate, out GatewayClient client)
    {
        string? commonName = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements || rdn.GetSingleElementType().Value != CommonNameOid)
            {
                continue;
            }

            if (commonName is not null)
            {
                client = null!;
                return false;
            }

            commonName = rdn.GetSingleElementValue();
        }

        if (commonName is not null && byCertificateName.TryGetValue(commonName, out var found))
        {
            client = found;
            return true;
        }

        client = null!;
        return false;
    }

    private sealed record ClientsFile(List<ClientEntry>? Clients);

    private sealed record ClientEntry(string Id, string? CertificateName, List<string>? Units, List<string>? Routes);
}
