using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Consent.Features.Consents;

public sealed record GrantorRequest
{
    public GrantorRole? Role { get; init; }
    public string? Name { get; init; }
    public ConsentAnswer? Answer { get; init; }
    public IReadOnlyList<InformationCategory>? CoveredCategories { get; init; }
}

/// <summary>A consent as staff record it in the source system (also the body of a change).</summary>
public sealed record RecordConsentRequest
{
    public string? SubjectId { get; init; }
    public IReadOnlyList<GrantorRequest>? Grantors { get; init; }
    public bool BothGuardiansRequired { get; init; }
    public IReadOnlyList<Purpose>? Purposes { get; init; }
    public IReadOnlyList<string>? SendingUnits { get; init; }
    public IReadOnlyList<string>? ReceivingUnits { get; init; }
    public IReadOnlyList<InformationCategory>? Categories { get; init; }
    public DateTimeOffset? ValidFrom { get; init; }
    public DateTimeOffset? ValidUntil { get; init; }
    public string? Situation { get; init; }
    public string? JournalReference { get; init; }
    public string? RecordedBy { get; init; }

    /// <summary>The caller's unit that records it; must be one the consent names.</summary>
    public string? RecordingUnit { get; init; }

    /// <summary>For a change: the version being changed, so two staff cannot overwrite each other.</summary>
    public int? ExpectedVersion { get; init; }

    public string? ChangeReason { get; init; }
}

public sealed record RevokeConsentRequest
{
    public string? RecordedBy { get; init; }
    public string? RecordingUnit { get; init; }
    public string? JournalReference { get; init; }
    public string? Reason { get; init; }
}
