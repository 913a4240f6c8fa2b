using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// Gemensam plan for a child and family: what each operation does and when it is followed up. The plan itself is
/// parenting support; the other sections are optional and carried (and checked) only when filled in.
/// </summary>
public sealed record JointPlanRequest : DisclosureRequest, IMessageType
{
    public static string Route => "joint-plans";

    /// <summary>The agreed measures: who does what. Required. <see cref="InformationCategory.ParentingSupport"/>.</summary>
    public string? Plan { get; init; }

    /// <summary>When the plan is followed up together.</summary>
    public DateOnly? FollowUpOn { get; init; }

    /// <summary><see cref="InformationCategory.FamilySituation"/>.</summary>
    public string? FamilySituation { get; init; }

    /// <summary><see cref="InformationCategory.ChildHealth"/>.</summary>
    public string? ChildHealth { get; init; }

    /// <summary><see cref="InformationCategory.ParentHealth"/>.</summary>
    public string? ParentHealth { get; init; }

    /// <summary>The child's own view of the plan. <see cref="InformationCategory.ChildsOwnStory"/>.</summary>
    public string? ChildsOwnStory { get; init; }

    internal override Purpose Purpose => Purpose.JointPlan;

    internal override string Name => "joint plan";

    internal override MessageBody? Compose(Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(Plan))
        {
            errors["plan"] = ["say what is planned and who does what"];
            return null;
        }

        // The follow-up date goes with the plan: it says nothing beyond the plan's own category.
        return new BodyBuilder()
            .Section("plan", Plan, InformationCategory.ParentingSupport)
            .Section("followUpOn", FollowUpOn, InformationCategory.ParentingSupport)
            .Section("familySituation", FamilySituation, InformationCategory.FamilySituation)
            .Section("childHealth", ChildHealth, InformationCategory.ChildHealth)
            .Section("parentHealth", ParentHealth, InformationCategory.ParentHealth)
            .Section("childsOwnStory", ChildsOwnStory, InformationCategory.ChildsOwnStory)
            .Build();
    }
}
