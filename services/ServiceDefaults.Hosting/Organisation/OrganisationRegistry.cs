using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.Contracts.Organisation;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Organisation;

public sealed class OrganisationOptions
{
    public const string Section = "Organisation";

    /// <summary>The registry file. Adding a family centre or a municipality is an edit here, not a code change.</summary>
    [Required]
    public string Path { get; set; } = "";
}

public enum PrincipalKind
{
    Region,
    Municipality,
    PrivateCareProvider,
}

public sealed record Principal(string Id, PrincipalKind Kind, string Name);

public sealed record Committee(string Id, string Principal, string Name);

public sealed record FamilyCentre(string Id, string Name);

/// <summary>
/// The addressable thing the hub routes to. Health-care units name their care unit (vårdenhet); municipal units
/// name their committee (nämnd) and branch of activity (verksamhetsgren). Those decide the secrecy area.
/// </summary>
public sealed record Unit(
    string Id,
    string Name,
    OperationType Operation,
    string Principal,
    string? CareUnit = null,
    string? Committee = null,
    string? Branch = null,
    string? FamilyCentre = null,
    IReadOnlyList<string>? DesignatedAssessors = null)
{
    /// <summary>Who at this unit is designated to make harm assessments (menprövning) or PSL 6:12 assessments.</summary>
    public bool HasDesignatedAssessor(string? assessor) => assessor is not null && (DesignatedAssessors ?? []).Contains(assessor);
}

/// <summary>A secrecy area as its parts, compared part by part (joined strings would let ids containing the separator collide).</summary>
public readonly record struct SecrecyArea(string Principal, string? CareUnit, string? Committee, string? Branch);

public sealed record OrganisationDocument(
    IReadOnlyList<Principal> Principals,
    IReadOnlyList<Committee> Committees,
    IReadOnlyList<FamilyCentre> FamilyCentres,
    IReadOnlyList<Unit> Units);

/// <summary>The organisation as configured: principals, committees, family centres and units.</summary>
public sealed class OrganisationRegistry
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Dictionary<string, Unit> units;
    private readonly Dictionary<string, Principal> principals;

    public OrganisationRegistry(IOptions<OrganisationOptions> options)
        : this(Load(options.Value.Path))
    {
    }

    public OrganisationRegistry(OrganisationDocument document)
    {
        Document = document;
        principals = document.Principals.ToDictionary(p => p.Id);
        units = document.Units.ToDictionary(u => u.Id);
        foreach (var unit in document.Units)
        {
            var principal = principals.GetValueOrDefault(unit.Principal)
                ?? throw new InvalidOperationException($"Unit {unit.Id} names an unknown principal {unit.Principal}.");
            var valid = principal.Kind == PrincipalKind.Municipality
                ? unit.Committee is not null && unit.Branch is not null
                : unit.CareUnit is not null;
            if (!valid)
            {
                throw new InvalidOperationException(
                    $"Unit {unit.Id}: a municipal unit needs committee and branch, a health-care unit needs careUnit.");
            }
        }
    }

    public OrganisationDocument Document { get; }

    public Unit? FindUnit(string id) => units.GetValueOrDefault(id);

    public Principal PrincipalOf(Unit unit) => principals[unit.Principal];

    public IEnumerable<Unit> UnitsOf(params OperationType[] operations) => units.Values.Where(u => operations.Contains(u.Operation));

    /// <summary>
    /// The secrecy area (sekretessområde) a unit belongs to (domain.md section 2): for health care the care unit of
    /// one care provider; for a municipality one committee and one branch of activity.
    /// </summary>
    public SecrecyArea SecrecyAreaOf(Unit unit) => PrincipalOf(unit).Kind == PrincipalKind.Municipality
        ? new SecrecyArea(unit.Principal, null, unit.Committee, unit.Branch)
        : new SecrecyArea(unit.Principal, unit.CareUnit, null, null);

    public bool InSameSecrecyArea(Unit a, Unit b) => SecrecyAreaOf(a) == SecrecyAreaOf(b);

    public static OrganisationDocument Load(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<OrganisationDocument>(stream, Json)
            ?? throw new InvalidOperationException($"The organisation file {path} is empty.");
    }
}
