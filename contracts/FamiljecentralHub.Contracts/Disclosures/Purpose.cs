namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>Why information crosses a boundary: the situations the source documents name (domain.md section 6).</summary>
public enum Purpose
{
    /// <summary>Slussning, hänvisning: warm handover between operations.</summary>
    Referral,

    /// <summary>Överrapportering MVC → BVC at birth.</summary>
    BirthHandover,

    /// <summary>Gemensam plan for a child and family.</summary>
    JointPlan,

    /// <summary>Gemensamt hembesök, föräldragrupp.</summary>
    JointActivityPlanning,

    /// <summary>Orosanmälan to the social committee's intake.</summary>
    ReportOfConcern,

    /// <summary>Överlämning myndighet ↔ öppenvård, carrying the child's own story.</summary>
    CareHandover,
}
