using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace FamiljecentralHub.ServiceDefaults.Input;

/// <summary>
/// Walks a bound request body along the serializer's own contract (the JSON names of exactly the properties that were
/// bound) and finds what no endpoint should have to handle: refused characters, overlong strings, overlong lists, null
/// list items and enum values that are none of the named ones. The paths it reports are built from the contract, never
/// from the input. It also collects the body's strings, so an answer can be checked for repeating any of them.
/// </summary>
/// <remarks>
/// A check after binding rather than a JsonConverter&lt;string&gt; in the serializer options: a custom converter
/// turns every string and list in the OpenAPI document into an untyped schema, and the serializer options also write
/// every answer. Binding is already bounded (the gateway's 1 MB body limit, <see cref="InputLimits.MaxDepth"/>), so
/// this second, linear pass is cheap.
/// </remarks>
internal sealed class BodyInspector(JsonSerializerOptions options)
{
    /// <summary>Strings shorter than this are too common to count as an echo ("Yes", a category name's part).</summary>
    private const int ShortestEchoWorthString = 4;
    private const int MaxCollectedStrings = 2_000;

    public ProblemList Problems { get; } = new();

    public List<string> Strings { get; } = [];

    public void Inspect(object body) => Visit(body, options.GetTypeInfo(body.GetType()), "");

    private void Visit(object value, JsonTypeInfo info, string path)
    {
        switch (value)
        {
            case string text:
                CheckText(text, path);
                return;
            case JsonElement or System.Text.Json.Nodes.JsonNode:
                // Free-form JSON is the endpoint's own to check; none of the hub's request types has any.
                return;
            case Enum named when !Enum.IsDefined(named.GetType(), named):
                // The converter reads "A, B" as a combination of values, as for flags, whatever the enum: a value the hub
                // never named would be stored and ledgered as a number, and matched by nothing the law names.
                Problems.Add(path, "must be one of the named values");
                return;
        }

        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                foreach (var property in info.Properties)
                {
                    if (property.Get?.Invoke(value) is { } child)
                    {
                        Visit(child, options.GetTypeInfo(property.PropertyType == typeof(object) ? child.GetType() : property.PropertyType), Join(path, property.Name));
                    }
                }

                return;
            case JsonTypeInfoKind.Enumerable:
                VisitItems(((IEnumerable)value).Cast<object?>(), info.ElementType!, path);
                return;
            case JsonTypeInfoKind.Dictionary:
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    if (entry.Key is string key)
                    {
                        CheckText(key, path);
                    }
                }

                VisitItems(((IDictionary)value).Values.Cast<object?>(), info.ElementType!, path);
                return;
        }
    }

    private void VisitItems(IEnumerable<object?> items, Type elementType, string path)
    {
        var list = items as IReadOnlyCollection<object?> ?? items.ToList();
        if (list.Count > InputLimits.MaxListItems)
        {
            Problems.Add(path, $"at most {InputLimits.MaxListItems} items");
            return;
        }

        var i = 0;
        var elementInfo = options.GetTypeInfo(elementType);
        foreach (var item in list)
        {
            var itemPath = $"{path}[{i++}]";
            if (item is null)
            {
                Problems.Add(itemPath, "must not be null");
                continue;
            }

            Visit(item, elementType == typeof(object) ? options.GetTypeInfo(item.GetType()) : elementInfo, itemPath);
        }
    }

    private void CheckText(string text, string path)
    {
        if (text.Length > InputLimits.MaxStringLength)
        {
            Problems.Add(path, $"at most {InputLimits.MaxStringLength} characters");
        }
        else if (InputLimits.HasRefusedCharacter(text))
        {
            Problems.Add(path, "holds a character that is not allowed: a control character other than tab and line break, an unpaired surrogate, a noncharacter or a bidirectional override");
        }

        var trimmed = text.Trim();
        if (trimmed.Length >= ShortestEchoWorthString && Strings.Count < MaxCollectedStrings)
        {
            Strings.Add(trimmed);
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
