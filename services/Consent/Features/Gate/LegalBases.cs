using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.Consent.Features.Gate;

/// <summary>What a basis requires is code; which basis exists, for whom, and its citation is data.</summary>
public enum BasisKind
{
    SameSecrecyArea,
    Consent,
    MandatoryReport,
    ProtectChild,
    HarmAssessment,
    NotUnauthorisedDisclosure,
}

/// <summary>
/// A legal basis for crossing a secrecy boundary. The citation is editable text: the Social Services Act was
/// replaced on 1 July 2025 and renumbered its sections, and a change of law must change data, not code.
/// </summary>
public sealed record LegalBasis(
    string Id,
    BasisKind Kind,
    string Citation,
    IReadOnlyList<Purpose>? Purposes = null,
    IReadOnlyList<OperationType>? Senders = null,
    IReadOnlyList<OperationType>? Receivers = null,
    IReadOnlyList<PrincipalKind>? SenderPrincipals = null)
{
    public bool AppliesTo(Purpose purpose, Unit sender, PrincipalKind senderPrincipal, Unit receiver) =>
        (Purposes is null || Purposes.Contains(purpose))
        && (Senders is null || Senders.Contains(sender.Operation))
        && (Receivers is null || Receivers.Contains(receiver.Operation))
        && (SenderPrincipals is null || SenderPrincipals.Contains(senderPrincipal));
}

public sealed record LegalBasisDocument(TimeSpan MaxConsentLength, IReadOnlyList<LegalBasis> Bases);

public sealed class LegalBasisOptions
{
    public const string Section = "LegalBases";

    /// <summary>Defaults to the catalogue shipped beside the service.</summary>
    [Required]
    public string Path { get; set; } = System.IO.Path.Combine(AppContext.BaseDirectory, "legal-bases.json");
}

public sealed class LegalBasisCatalog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private readonly Dictionary<string, LegalBasis> byId;

    public LegalBasisCatalog(IOptions<LegalBasisOptions> options)
        : this(Load(options.Value.Path))
    {
    }

    public LegalBasisCatalog(LegalBasisDocument document)
    {
        Document = document;
        byId = document.Bases.ToDictionary(b => b.Id);
        foreach (var kind in new[] { BasisKind.SameSecrecyArea, BasisKind.Consent })
        {
            if (document.Bases.Count(b => b.Kind == kind) != 1)
            {
                throw new InvalidOperationException($"The legal basis catalogue needs exactly one basis of kind {kind}.");
            }
        }
    }

    public LegalBasisDocument Document { get; }

    public TimeSpan MaxConsentLength => Document.MaxConsentLength;

    public LegalBasis? Find(string id) => byId.GetValueOrDefault(id);

    public LegalBasis Of(BasisKind kind) => Document.Bases.First(b => b.Kind == kind);

    public static LegalBasisDocument Load(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<LegalBasisDocument>(stream, Json) ?? throw new InvalidOperationException($"{path} is empty.");
    }
}
