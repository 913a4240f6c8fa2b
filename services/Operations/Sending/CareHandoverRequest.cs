using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

public enum RatingOccasion
{
    Start,
    FollowUp,
    End,
}

/// <summary>How the child rates one problem area on one occasion, 1 (very bad) to 10 (very good).</summary>
public sealed record ChildsRating
{
    public string? ProblemArea { get; init; }

    public int? Rating { get; init; }

    public RatingOccasion? Occasion { get; init; }
}

/// <summary>
/// Överlämning between the social committee's authority side (intake, investigation) and open care (preventive social
/// services), in both directions, with the child's own story as the thread through it ("Barnets berättelse som en röd
/// tråd", seed 004): the authority hands over what it found and what the child told; open care hands back how the
/// intervention went and how the child rated their situation, for when the child comes back.
/// </summary>
public sealed record CareHandoverRequest : DisclosureRequest, IMessageType
{
    public static string Route => "care-handovers";

    /// <summary>What the investigation found: the problem areas the intervention is to work with. <see cref="InformationCategory.FamilySituation"/>.</summary>
    public string? Findings { get; init; }

    /// <summary>The child's account of their situation, in the child's words. <see cref="InformationCategory.ChildsOwnStory"/>.</summary>
    public string? ChildsOwnStory { get; init; }

    /// <summary>The child's ratings of the problem areas. <see cref="InformationCategory.ChildsOwnStory"/>.</summary>
    public IReadOnlyList<ChildsRating>? ChildsRatings { get; init; }

    /// <summary>How the intervention went (open care → authority). <see cref="InformationCategory.ParentingSupport"/>.</summary>
    public string? InterventionOutcome { get; init; }

    /// <summary><see cref="InformationCategory.ChildHealth"/>.</summary>
    public string? ChildHealth { get; init; }

    /// <summary><see cref="InformationCategory.ParentHealth"/>.</summary>
    public string? ParentHealth { get; init; }

    internal override Purpose Purpose => Purpose.CareHandover;

    internal override string Name => "care handover";

    internal override string WrongReceiver => "a care handover goes between the intake unit and preventive social services";

    internal override MessageBody? Compose(Dictionary<string, string[]> errors)
    {
        var valid = true;
        for (var i = 0; i < (ChildsRatings?.Count ?? 0); i++)
        {
            var rating = ChildsRatings![i];
            if (string.IsNullOrWhiteSpace(rating?.ProblemArea))
            {
                errors[$"childsRatings[{i}].problemArea"] = ["name the problem area rated"];
                valid = false;
            }

            if (rating?.Rating is not (>= 1 and <= 10))
            {
                errors[$"childsRatings[{i}].rating"] = ["rate from 1 to 10"];
                valid = false;
            }

            if (rating?.Occasion is null)
            {
                errors[$"childsRatings[{i}].occasion"] = ["say when: Start, FollowUp or End"];
                valid = false;
            }
        }

        var body = new BodyBuilder()
            .Section("findings", Findings, InformationCategory.FamilySituation)
            .Section("childsOwnStory", ChildsOwnStory, InformationCategory.ChildsOwnStory)
            .Section("childsRatings", ChildsRatings is { Count: > 0 } ? ChildsRatings : null, InformationCategory.ChildsOwnStory)
            .Section("interventionOutcome", InterventionOutcome, InformationCategory.ParentingSupport)
            .Section("childHealth", ChildHealth, InformationCategory.ChildHealth)
            .Section("parentHealth", ParentHealth, InformationCategory.ParentHealth);
        if (!body.HasSections)
        {
            errors["findings"] = ["fill in at least one section: findings, childsOwnStory, childsRatings, interventionOutcome, childHealth or parentHealth"];
            valid = false;
        }

        return valid ? body.Build() : null;
    }
}
