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

/// <summary>
/// What a child may consent to alone, without the guardians: from <see cref="MinimumAge"/> (on the day the consent is
/// given), to <see cref="Purposes"/> towards receivers of <see cref="Receivers"/>. In the 2001 Social Services Act this is
/// 3:6a (open interventions from social services for a child who has turned 15); the citation is editable text.
/// </summary>
public sealed record ChildsOwnConsentRule(
    string Id,
    string Citation,
    int MinimumAge,
    IReadOnlyList<Purpose> Purposes,
    IReadOnlyList<OperationType> Receivers)
{
    /// <summary>Majority (FB 9:1): from 18 the subject consents for themself to anything.</summary>
    public const int AdultAge = 18;

    public bool Covers(Purpose purpose, OperationType receiver) => Purposes.Contains(purpose) && Receivers.Contains(receiver);
}

public sealed record LegalBasisDocument(int MaxConsentMonths, IReadOnlyList<LegalBasis> Bases, ChildsOwnConsentRule? ChildsOwnConsent = null);

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
        if (document.MaxConsentMonths is < 1 or > 120)
        {
            throw new InvalidOperationException("The legal basis catalogue needs maxConsentMonths, from 1 to 120.");
        }

        if (document.ChildsOwnConsent is not { Id.Length: > 0, Citation.Length: > 0, MinimumAge: > 0, Purposes: not null, Receivers: not null })
        {
            throw new InvalidOperationException("The legal basis catalogue needs the childsOwnConsent rule, with its id, citation, age, purposes and receivers.");
        }

        foreach (var kind in new[] { BasisKind.SameSecrecyArea, BasisKind.Consent })
        {
            if (document.Bases.Count(b => b.Kind == kind) != 1)
            {
                throw new InvalidOperationException($"The legal basis catalogue needs exactly one basis of kind {kind}.");
            }
        }
    }

    public LegalBasisDocument Document { get; }

    /// <summary>
    /// The sender's claim, when the basis the gate permitted on is the statutory one it claimed: what the receiver is shown
    /// of why it may have the message. A claim of consent or of the same secrecy area is never one the gate relies on.
    /// </summary>
    public ClaimedBasis? EvidenceFor(SubmitDisclosure d, string? permittedOn) =>
        d.ClaimedBasis is { } claim && claim.Basis == permittedOn
        && Find(claim.Basis)?.Kind is BasisKind.MandatoryReport or BasisKind.ProtectChild or BasisKind.HarmAssessment or BasisKind.NotUnauthorisedDisclosure
            ? claim
            : null;

    /// <summary>Required: without it no child's own consent could be judged, and the gate would have to guess.</summary>
    public ChildsOwnConsentRule ChildsOwnConsent => Document.ChildsOwnConsent!;

    public int MaxConsentMonths => Document.MaxConsentMonths;

    /// <summary>
    /// The latest end of a consent given at <paramref name="given"/>: the same time of day so many calendar months later
    /// (a year that holds a 29 February is 366 days), by the Swedish calendar or UTC's, whichever is later, so that a client
    /// that counts the months in either is never refused at a month's end.
    /// </summary>
    public DateTimeOffset LatestEnd(DateTimeOffset given)
    {
        var utc = given.ToUniversalTime().AddMonths(MaxConsentMonths);
        // The wall-clock time in Sweden, then its offset on the end's own day (summer and winter time differ); a time
        // the spring's change skips, or the autumn's repeats, is read in winter time, the later instant.
        var sweden = SecrecyGate.Sweden;
        var wall = TimeZoneInfo.ConvertTime(given, sweden).DateTime.AddMonths(MaxConsentMonths);
        var swedish = new DateTimeOffset(wall, sweden.IsInvalidTime(wall) ? sweden.BaseUtcOffset : sweden.GetUtcOffset(wall));
        return utc > swedish ? utc : swedish;
    }

    public LegalBasis? Find(string id) => byId.GetValueOrDefault(id);

    public LegalBasis Of(BasisKind kind) => Document.Bases.First(b => b.Kind == kind);

    public static LegalBasisDocument Load(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<LegalBasisDocument>(stream, Json) ?? throw new InvalidOperationException($"{path} is empty.");
    }
}
