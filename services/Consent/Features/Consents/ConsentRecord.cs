using System.Text.Json.Serialization;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>Who may give consent (domain.md section 3, the Skåne guidance's footnote 3).</summary>
public enum GrantorRole
{
    /// <summary>Vårdnadshavare.</summary>
    Guardian,

    /// <summary>Tillfällig eller särskilt förordnad vårdnadshavare.</summary>
    TemporaryGuardian,
    SpeciallyAppointedGuardian,

    /// <summary>God man for an unaccompanied minor.</summary>
    GodMan,

    /// <summary>The social committee, when it has taken over custody decisions (LVU).</summary>
    SocialCommittee,

    /// <summary>Familjehemsförälder or residential staff without a specific appointment: may NOT consent.</summary>
    FosterParent,

    /// <summary>The subject themself: an adult, or a child of 15 or more for social services' open interventions.</summary>
    Subject,
}

public enum ConsentAnswer
{
    Yes,
    No,
    Partial,
}

public enum ConsentState
{
    Active,
    Revoked,
}

/// <summary>What a version did, as the ledger records it.</summary>
public enum ConsentChange
{
    Recorded,

    /// <summary>Changed by a disclosing unit, in a way that may let more through.</summary>
    Changed,

    /// <summary>Changed so that it only ever stops disclosures (<see cref="ConsentNarrowing"/>).</summary>
    Narrowed,
    Revoked,
}

/// <summary>
/// One grantor's own answer. Partial answers list what they cover. The grantor's identity number, when recorded, is how a
/// unit later tells the hub that this grantor no longer has custody (<see cref="CustodyApi"/>): names are not unique.
/// </summary>
public sealed record Grantor(
    GrantorRole Role, string Name, ConsentAnswer Answer, IReadOnlyList<InformationCategory>? CoveredCategories = null, string? IdentityNumber = null)
{
    /// <summary>
    /// From when the hub was told this grantor no longer acts for the subject (a custody change), as the store reads it
    /// beside the consent; never part of the recorded version, which stays as staff recorded it.
    /// </summary>
    [JsonIgnore]
    public DateTimeOffset? NoLongerGuardianFrom { get; init; }
}

/// <summary>
/// One version of a consent. A change or a revocation is a new version: history is never overwritten.
/// </summary>
public sealed record ConsentRecord
{
    public required Guid Id { get; init; }
    public required int Version { get; init; }
    public required ConsentState State { get; init; }
    public required string SubjectId { get; init; }
    public required IReadOnlyList<Grantor> Grantors { get; init; }
    public required bool BothGuardiansRequired { get; init; }
    public required IReadOnlyList<Purpose> Purposes { get; init; }
    public required IReadOnlyList<string> SendingUnits { get; init; }
    public required IReadOnlyList<string> ReceivingUnits { get; init; }
    public required IReadOnlyList<InformationCategory> Categories { get; init; }
    public required DateTimeOffset ValidFrom { get; init; }
    public required DateTimeOffset ValidUntil { get; init; }

    /// <summary>The situation the consent is for, in staff's words: consent is specific, never general.</summary>
    public required string Situation { get; init; }

    /// <summary>Where it is documented in the recording unit's journal.</summary>
    public required string JournalReference { get; init; }

    public required string RecordedBy { get; init; }
    public required string RecordingUnit { get; init; }
    public required DateTimeOffset RecordedAt { get; init; }
    public string? ChangeReason { get; init; }

    /// <summary>What this version did; absent on versions recorded before it was kept.</summary>
    public ConsentChange? Change { get; init; }

    /// <summary>The client system that wrote this version (the caller token's subject).</summary>
    public string? ActingSystem { get; init; }

    /// <summary>
    /// The day the consent was given, for judging the subject's age: it cannot be given after it is recorded, nor after it
    /// starts to apply, so the earlier of the two (the Swedish calendar day, on which birthdays fall).
    /// </summary>
    public DateOnly GivenOn() => SecrecyGate.SwedishDay(GivenAt());

    /// <summary>
    /// The earliest instant any version of the consent was given (its first version's, or an earlier start a later one
    /// set), as the store reads it beside the current version, never part of a recorded version: a later version that
    /// moves the start forward does not make the grantors' yes any newer, so it cannot lift a "no" said after that yes
    /// (SecrecyGate) nor make a child older when the yes was given.
    /// </summary>
    [JsonIgnore]
    public DateTimeOffset? FirstGivenAt { get; init; }

    /// <summary>
    /// The instant the consent was given at the latest: the earlier of its start and its recording, and of its first
    /// version's when the store read that.
    /// </summary>
    public DateTimeOffset GivenAt()
    {
        var given = ValidFrom < RecordedAt ? ValidFrom : RecordedAt;
        return FirstGivenAt is { } first && first < given ? first : given;
    }

    public bool Names(string unitId) => SendingUnits.Contains(unitId) || ReceivingUnits.Contains(unitId) || RecordingUnit == unitId;
}
