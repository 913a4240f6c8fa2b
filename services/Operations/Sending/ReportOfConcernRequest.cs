using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// Orosanmälan to the social committee's intake unit: about a child, the law's own basis, needing no consent (about the
/// expectant parent, for the expected child, it claims the protective basis with a justification). The only message type
/// whose subject may be known by name alone (a visitor at the open preschool): then <see cref="Child"/> says who the
/// child is, inside the body only, and the message gets a stand-in subject id (<see cref="UnidentifiedSubject"/>).
/// </summary>
public sealed record ReportOfConcernRequest : DisclosureRequest, IMessageType
{
    public static string Route => "reports-of-concern";

    /// <summary>Who the child is when the number is not known (or in addition to it). <see cref="InformationCategory.IdentityAndContact"/>.</summary>
    public ChildDescription? Child { get; init; }

    /// <summary>What the sender saw or heard that gives concern. Required. <see cref="InformationCategory.FamilySituation"/>.</summary>
    public string? Concern { get; init; }

    /// <summary>What the child said, in the child's words: the start of the child's own story. <see cref="InformationCategory.ChildsOwnStory"/>.</summary>
    public string? ChildsOwnWords { get; init; }

    /// <summary>How to reach the guardians, when known. <see cref="InformationCategory.IdentityAndContact"/>.</summary>
    public string? GuardianContact { get; init; }

    internal override Purpose Purpose => Purpose.ReportOfConcern;

    internal override string Name => "report of concern";

    internal override string? CheckSubject(Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(SubjectId) && !string.IsNullOrWhiteSpace(Child?.Name))
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(SubjectId))
        {
            errors["subjectId"] = ["give the child's personal identity number, or the child's name in child.name when the number is not known"];
            return null;
        }

        return base.CheckSubject(errors);
    }

    internal override string WrongReceiver => "a report of concern goes to the social committee's intake unit";

    internal override MessageBody? Compose(Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(Concern))
        {
            errors["concern"] = ["say what gives concern"];
            return null;
        }

        var child = Child is { } c && (!string.IsNullOrWhiteSpace(c.Name) || !string.IsNullOrWhiteSpace(c.Description)) ? c : null;
        return new BodyBuilder()
            .Section("concern", Concern, InformationCategory.FamilySituation)
            .Section("child", child, InformationCategory.IdentityAndContact)
            .Section("childsOwnWords", ChildsOwnWords, InformationCategory.ChildsOwnStory)
            .Section("guardianContact", GuardianContact, InformationCategory.IdentityAndContact)
            .Build();
    }
}

/// <summary>A child as the sender knows them: a name, and what else helps the intake find them (age, who came with them).</summary>
public sealed record ChildDescription
{
    public string? Name { get; init; }

    public string? Description { get; init; }
}
