namespace FamiljecentralHub.Contracts.Disclosures;

/// <summary>
/// The closed list of information categories: the unit of partial consent and of minimum necessary disclosure.
/// Adding one is a contract change; never rename one.
/// </summary>
public enum InformationCategory
{
    IdentityAndContact,
    FamilySituation,
    ChildHealth,
    ParentHealth,
    ParentingSupport,
    Pregnancy,
    ChildsOwnStory,
    Attendance,
}
