using FamiljecentralHub.Contracts.Disclosures;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// Överrapportering MVC → BVC at birth. The subject is the newborn. Each section is optional and carries one
/// category; only the sections filled in travel and are checked against the consent.
/// </summary>
public sealed record BirthHandoverRequest : DisclosureRequest, IMessageType
{
    public static string Route => "birth-handovers";

    /// <summary>The course of the pregnancy and the birth. <see cref="InformationCategory.Pregnancy"/>.</summary>
    public string? Pregnancy { get; init; }

    /// <summary>The newborn's health and development so far. <see cref="InformationCategory.ChildHealth"/>.</summary>
    public string? Newborn { get; init; }

    /// <summary>The birthing parent's health, e.g. signs of depression. <see cref="InformationCategory.ParentHealth"/>.</summary>
    public string? ParentHealth { get; init; }

    /// <summary>The family's situation and needs of support. <see cref="InformationCategory.FamilySituation"/>.</summary>
    public string? FamilySituation { get; init; }

    /// <summary>How to reach the family: address, telephone, interpreter. <see cref="InformationCategory.IdentityAndContact"/>.</summary>
    public string? Contact { get; init; }

    internal override Purpose Purpose => Purpose.BirthHandover;

    internal override string Name => "birth handover";

    internal override string WrongReceiver => "a birth handover goes to a child health unit";

    internal override MessageBody? Compose(Dictionary<string, string[]> errors)
    {
        var body = new BodyBuilder()
            .Section("pregnancy", Pregnancy, InformationCategory.Pregnancy)
            .Section("newborn", Newborn, InformationCategory.ChildHealth)
            .Section("parentHealth", ParentHealth, InformationCategory.ParentHealth)
            .Section("familySituation", FamilySituation, InformationCategory.FamilySituation)
            .Section("contact", Contact, InformationCategory.IdentityAndContact);
        if (!body.HasSections)
        {
            errors["pregnancy"] = ["fill in at least one section: pregnancy, newborn, parentHealth, familySituation or contact"];
            return null;
        }

        return body.Build();
    }
}
