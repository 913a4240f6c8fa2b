using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

public enum JointActivity
{
    /// <summary>Gemensamt hembesök, e.g. BVC with preventive social services or the open preschool.</summary>
    HomeVisit,

    /// <summary>Föräldragrupp.</summary>
    ParentGroup,
}

/// <summary>Planning a joint home visit or a place in a parent group for one family.</summary>
public sealed record JointActivityPlanningRequest : DisclosureRequest, IMessageType
{
    public static string Route => "joint-activities";

    public JointActivity? Activity { get; init; }

    /// <summary>What is proposed: when, where, who takes part. Required. <see cref="InformationCategory.Attendance"/>.</summary>
    public string? Proposal { get; init; }

    /// <summary>What the family wants from it. <see cref="InformationCategory.ParentingSupport"/>.</summary>
    public string? Needs { get; init; }

    /// <summary>How to reach the family. <see cref="InformationCategory.IdentityAndContact"/>.</summary>
    public string? Contact { get; init; }

    internal override Purpose Purpose => Purpose.JointActivityPlanning;

    internal override string Name => "joint activity plan";

    internal override MessageBody? Compose(Dictionary<string, string[]> errors)
    {
        var valid = true;
        if (Activity is null)
        {
            errors["activity"] = ["name the activity: HomeVisit or ParentGroup"];
            valid = false;
        }

        if (string.IsNullOrWhiteSpace(Proposal))
        {
            errors["proposal"] = ["say what is proposed"];
            valid = false;
        }

        return valid
            ? new BodyBuilder()
                .Section("activity", Activity, InformationCategory.Attendance)
                .Section("proposal", Proposal, InformationCategory.Attendance)
                .Section("needs", Needs, InformationCategory.ParentingSupport)
                .Section("contact", Contact, InformationCategory.IdentityAndContact)
                .Build()
            : null;
    }
}
