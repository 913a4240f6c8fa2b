using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Consent.Features.Consents;

public sealed record GrantorRequest
{
    public GrantorRole? Role { get; init; }
    public string? Name { get; init; }
    public ConsentAnswer? Answer { get; init; }
    public IReadOnlyList<InformationCategory>? CoveredCategories { get; init; }

    /// <summary>
    /// The grantor's personal identity or co-ordination number (optional): what a later custody change names. A consent
    /// recorded without it cannot be reached by one, and must be revoked or narrowed by hand when custody changes.
    /// </summary>
    public string? IdentityNumber { get; init; }
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

/// <summary>A unit tells the hub that a grantor no longer has custody of (or no longer acts for) the subject.</summary>
public sealed record CustodyChangeRequest
{
    public string? SubjectId { get; init; }

    /// <summary>The grantor's personal identity or co-ordination number, as the consents record it.</summary>
    public string? GrantorId { get; init; }

    /// <summary>From when the grantor no longer acts for the subject; now when absent.</summary>
    public DateTimeOffset? NoLongerGuardianFrom { get; init; }

    public string? RecordedBy { get; init; }
    public string? RecordingUnit { get; init; }

    /// <summary>Where the custody decision is documented in the recording unit's journal.</summary>
    public string? JournalReference { get; init; }
}
