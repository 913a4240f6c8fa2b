namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>A legal basis other than consent that the sender relies on, with what the law requires it to show.</summary>
public sealed record ClaimedBasis
{
    /// <summary>The basis id from the hub's configuration, e.g. "report-of-concern".</summary>
    public required string Basis { get; init; }

    /// <summary>Written justification, required by the protective bases (OSL 25:12, 26:9).</summary>
    public string? Justification { get; init; }

    /// <summary>Journal reference of a documented harm assessment or PSL 6:12 assessment.</summary>
    public string? AssessmentReference { get; init; }

    /// <summary>The designated assessor who made that assessment.</summary>
    public string? Assessor { get; init; }
}
