using System.ComponentModel.DataAnnotations;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>Settings of the log extract, the review queue and the log follow-up (docs/accountability.md).</summary>
public sealed class AccountabilityOptions
{
    public const string Section = "Accountability";

    /// <summary>A flagged disclosure not reviewed within this many days of its decision is overdue.</summary>
    [Range(1, 365)]
    public int ReviewWithinDays { get; set; } = 14;

    /// <summary>The time zone office hours are reckoned in (the family centres' own).</summary>
    [Required]
    public string TimeZone { get; set; } = "Europe/Stockholm";

    /// <summary>Office hours start at this hour (local time), Monday to Friday.</summary>
    [Range(0, 23)]
    public int OfficeHoursStart { get; set; } = 7;

    /// <summary>Office hours end at this hour (local time, exclusive).</summary>
    [Range(1, 24)]
    public int OfficeHoursEnd { get; set; } = 18;

    /// <summary>One acting user or system disclosing about more than this many subjects in a period is unusual.</summary>
    [Range(1, 1_000_000)]
    public int ManySubjects { get; set; } = 20;

    /// <summary>
    /// The rule cited when an extract withholds a report of concern: the reporter's identity is protected towards the
    /// family. Editable text, as every citation of the hub (a change of law changes data, not code).
    /// </summary>
    [Required]
    public string ReporterRule { get; set; } =
        "OSL (2009:400) 26 kap. 6 §: uppgift om vem som gjort en anmälan eller lämnat en uppgift om ett barn som far illa lämnas inte ut till barnets vårdnadshavare utan prövning";

    /// <summary>The rule cited when an extract withholds a disclosure to protect the child (OSL 25:12 / 26:9).</summary>
    [Required]
    public string HarmRule { get; set; } =
        "OSL (2009:400) 26 kap. 1 §: uppgift om en enskilds personliga förhållanden lämnas inte ut om det kan antas att barnet eller en närstående lider men";
}
