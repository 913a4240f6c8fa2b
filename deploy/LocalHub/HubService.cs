namespace FamiljecentralHub.LocalHub;

/// <summary>One of the six services: its route name, its project folder under services/ and its fixed port.</summary>
internal sealed record HubService(string Name, string Project, int FixedPort)
{
    public static IReadOnlyList<HubService> All { get; } =
    [
        new("maternity-care", "MaternityCare", 5101),
        new("child-health", "ChildHealth", 5102),
        new("open-preschool", "OpenPreschool", 5103),
        new("social-services", "SocialServices", 5104),
        new("consent", "Consent", 5105),
        new("ops", "Ops", 5106),
    ];

    /// <summary>hub_maternity_care, hub_consent, ...: one database per service.</summary>
    public string Database => "hub_" + Name.Replace('-', '_');
}
