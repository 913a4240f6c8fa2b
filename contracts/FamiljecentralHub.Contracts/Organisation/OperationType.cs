namespace FamiljecentralHub.Contracts.Organisation;

/// <summary>The kind of operation (verksamhet) a unit belongs to; decides which service hosts it.</summary>
public enum OperationType
{
    /// <summary>Mödrahälsovård (MVC).</summary>
    MaternityCare,

    /// <summary>Barnhälsovård (BVC).</summary>
    ChildHealth,

    /// <summary>Öppen förskola.</summary>
    OpenPreschool,

    /// <summary>Förebyggande socialtjänst: the family centre's preventive social services.</summary>
    PreventiveSocialServices,

    /// <summary>The social committee's authority side (mottagning/utredning): receives reports of concern.</summary>
    SocialServicesIntake,
}
