using System.Text.Json;
using System.Text.Json.Serialization;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;

namespace FamiljecentralHub.Operations.Sending;

/// <summary>
/// A message type of an operation's vocabulary: where it is posted (<c>/units/{unitId}/{Route}</c>).
/// A static member, so a service can say <c>Speaks&lt;BirthHandoverRequest&gt;()</c> and every service that speaks a
/// type posts it to the same path.
/// </summary>
public interface IMessageType
{
    static abstract string Route { get; }
}

/// <summary>
/// What every message type has: the receiving unit, the subject, the acting user and an optional claimed basis. The
/// type itself says its purpose and turns its fields into the information categories it carries and the body, so a
/// sender never claims a category it does not send (docs/vocabulary.md). The members the machinery reads are
/// internal, so they are neither bound from JSON nor shown in the OpenAPI document.
/// </summary>
public abstract record DisclosureRequest
{
    public string? ReceivingUnit { get; init; }

    /// <summary>The child's (or the expectant parent's) personal identity or co-ordination number.</summary>
    public string? SubjectId { get; init; }

    /// <summary>The user at the client system: an HSA id (e.g. SE2321000016-BVC1), required; recorded in the append-only decision ledger.</summary>
    public string? ActingUser { get; init; }

    public ClaimedBasis? Basis { get; init; }

    internal abstract Purpose Purpose { get; }

    /// <summary>For the title of a validation problem: "The {Name} is not valid".</summary>
    internal abstract string Name { get; }

    /// <summary>
    /// The subject's normalised number, or null. A null with no error added means the type identifies its subject
    /// otherwise (only a report of concern may: docs/vocabulary.md). Errors never repeat the input.
    /// </summary>
    internal virtual string? CheckSubject(Dictionary<string, string[]> errors) => SendingApi.ValidateSubject(SubjectId, errors)?.Value;

    /// <summary>
    /// Whether the receiver takes this purpose from this sender: the gate decides (and refuses what it does not accept), but
    /// a message that can never be permitted is a mistake the sender should hear of at once. The rule is the gate's own
    /// (<see cref="AcceptedPurposes"/>); only the words the sender reads are the type's.
    /// </summary>
    internal string? CheckReceiver(Unit sender, Unit receiver) => AcceptedPurposes.Accepts(sender, receiver, Purpose) ? null : WrongReceiver;

    /// <summary>What the sender is told when the receiver does not take this type (<see cref="CheckReceiver"/>).</summary>
    internal virtual string WrongReceiver => $"the intake unit takes reports of concern and care handovers, not a {Name}";

    /// <summary>Validates the type's own fields; the categories and body, or null when an error was added.</summary>
    internal abstract MessageBody? Compose(Dictionary<string, string[]> errors);
}

/// <summary>What a message carries: its information categories (checked against partial consent) and its body.</summary>
public sealed record MessageBody(IReadOnlyList<InformationCategory> Categories, string Content);

/// <summary>
/// Builds a body from sections: only the sections filled in are carried, and only their categories are claimed.
/// </summary>
internal sealed class BodyBuilder
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Dictionary<string, object> content = [];
    private readonly SortedSet<InformationCategory> categories = [];

    public bool HasSections => content.Count > 0;

    /// <summary>A free-text section, carried (with its category) only when it holds text.</summary>
    public BodyBuilder Section(string name, string? text, InformationCategory category)
    {
        if (!string.IsNullOrWhiteSpace(text))
        {
            content[name] = text;
            categories.Add(category);
        }

        return this;
    }

    /// <summary>A structured section, carried (with its categories) only when present.</summary>
    public BodyBuilder Section(string name, object? value, params InformationCategory[] sectionCategories)
    {
        if (value is not null)
        {
            content[name] = value;
            categories.UnionWith(sectionCategories);
        }

        return this;
    }

    public MessageBody Build() => new(categories.ToList(), JsonSerializer.Serialize(content, Json));
}
