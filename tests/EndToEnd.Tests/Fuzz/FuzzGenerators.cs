using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.LocalHub.Clients;
using FsCheck;
using FsCheck.Fluent;

namespace FamiljecentralHub.EndToEnd.Tests.Fuzz;

/// <summary>Who calls a service in the fuzz: a client system, the unit it acts for, and units that are not its own.</summary>
internal sealed record FuzzActor(string ClientId, string OwnUnit, IReadOnlyList<string> ForeignUnits, string Receiver);

/// <summary>What the fuzz knows of the running hub: its callers and a few real ids it may use where they do not belong.</summary>
internal sealed record FuzzWorld(
    IReadOnlyDictionary<string, FuzzActor> Actors, IReadOnlyList<Guid> KnownIds, IReadOnlyDictionary<string, JsonObject> Schemas);

/// <summary>One generated request. <see cref="Planted"/> are personal data put in it that no answer may repeat.</summary>
internal sealed record FuzzRequest(
    int Index, FuzzEndpoint Endpoint, string ClientId, string Path, string? Body, string ContentType, string Mutation, IReadOnlyList<string> Planted)
{
    public override string ToString() => $"#{Index} {Endpoint.Method} {Path} [{Mutation}]";
}

/// <summary>
/// FsCheck generators for hostile requests: wrong types, nulls, control characters, huge and deeply nested values,
/// foreign ids, and known-good bodies with one field changed. Every request plants a fresh, well-formed identity number
/// and a name, so an echo of them can only come from that request.
/// </summary>
internal static class FuzzGenerators
{
    private const string ActingUser = "SE2321000016-FUZ1";

    public static Gen<FuzzRequest> Requests(FuzzWorld world, IReadOnlyList<FuzzEndpoint> endpoints) =>
        from endpoint in Gen.Elements(endpoints.ToArray())
        from plantIndex in Gen.Choose(0, 7_000_000)
        from unitChoice in Gen.Frequency((70, Gen.Constant("own")), (12, Gen.Constant("foreign")), (18, Gen.Constant("hostile")))
        from hostileId in HostileText
        from idChoice in Gen.Frequency((50, Gen.Constant(-1)), (30, Gen.Choose(0, Math.Max(0, world.KnownIds.Count - 1))), (20, Gen.Constant(-2)))
        from random1 in Gen.Choose(int.MinValue, int.MaxValue)
        from random2 in Gen.Choose(int.MinValue, int.MaxValue)
        from queryValues in Gen.ArrayOf(QueryValue, 4)
        from mutation in endpoint.BodySchema is null ? Gen.Constant(Mutation.None) : Mutations
        from field in Gen.Choose(0, 1000)
        from value in HostileValue
        select Build(world, endpoint, Plant.For(plantIndex), unitChoice, hostileId, idChoice, (random1, random2), queryValues, mutation, field, value);

    private static FuzzRequest Build(
        FuzzWorld world, FuzzEndpoint endpoint, Plant plant, string unitChoice, string hostileId, int idChoice, (int, int) randomId,
        string[] queryValues, Mutation mutation, int field, HostileValueKind value)
    {
        var actor = world.Actors[endpoint.Service];
        var planted = new List<string>(plant.Tokens);
        var path = new StringBuilder("/" + endpoint.Service);
        foreach (var segment in endpoint.Template.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            path.Append('/');
            if (!segment.StartsWith('{'))
            {
                path.Append(segment);
                continue;
            }

            var name = segment.Trim('{', '}').Split(':')[0];
            var parameter = endpoint.Parameters.FirstOrDefault(p => p.Name == name && p.In == "path");
            if (parameter?.Format == "uuid" || name.EndsWith("Id", StringComparison.Ordinal) && name != "unitId")
            {
                path.Append(Uri.EscapeDataString(idChoice switch
                {
                    -1 => new Guid(randomId.Item1, (short)randomId.Item2, (short)(randomId.Item2 >> 16), 1, 2, 3, 4, 5, 6, 7, 8).ToString(),
                    -2 => hostileId,
                    var i when world.KnownIds.Count > 0 => world.KnownIds[i].ToString(),
                    _ => Guid.Empty.ToString(),
                }));
            }
            else
            {
                var unit = unitChoice switch
                {
                    "own" => actor.OwnUnit,
                    "foreign" => actor.ForeignUnits[Math.Abs(randomId.Item1 % actor.ForeignUnits.Count)],
                    _ => hostileId.Length % 3 == 0 ? plant.Number : hostileId,
                };
                path.Append(Uri.EscapeDataString(unit));
            }
        }

        var query = endpoint.Parameters.Where(p => p.In == "query").Select((p, i) => (p, v: queryValues[i % queryValues.Length]))
            .Where(x => x.v != "")
            .Select(x => $"{Uri.EscapeDataString(x.p.Name)}={Uri.EscapeDataString(x.v == "<planted>" ? plant.Number : x.v)}")
            .ToList();
        if (query.Count > 0)
        {
            path.Append('?').Append(string.Join('&', query));
        }

        string? body = null;
        var contentType = "application/json";
        if (endpoint.BodySchema is not null)
        {
            var good = KnownGood(world, endpoint, actor, plant);
            (body, contentType) = Mutate(good, mutation, field, value, plant);
        }

        return new FuzzRequest(0, endpoint, actor.ClientId, path.ToString(), body, contentType,
            $"{unitChoice}-unit {mutation}{(mutation.ToString().StartsWith("Field", StringComparison.Ordinal) ? $"({value})" : "")}", planted);
    }

    // ---- bodies ----

    /// <summary>A body the endpoint would accept, where the fuzz knows one; otherwise one made from the schema.</summary>
    private static JsonObject KnownGood(FuzzWorld world, FuzzEndpoint endpoint, FuzzActor actor, Plant plant)
    {
        var schema = endpoint.BodySchema ?? "";
        JsonObject? body = schema switch
        {
            "ReferralRequest" => Obj(new { receivingUnit = actor.Receiver, subjectId = plant.Number, categories = new[] { "FamilySituation" }, reason = $"Familjen önskar stöd. {plant.Name}", actingUser = ActingUser }),
            "ReportOfConcernRequest" => Obj(new { receivingUnit = "malmo-mottagning", subjectId = plant.Number, concern = $"Oro för barnet. {plant.Name}", child = new { name = plant.Name }, actingUser = ActingUser }),
            "BirthHandoverRequest" => Obj(new { receivingUnit = actor.Receiver, subjectId = plant.Number, pregnancy = "Okomplicerad.", contact = plant.Name, actingUser = ActingUser }),
            "CareHandoverRequest" => Obj(new
            {
                receivingUnit = actor.OwnUnit == "malmo-mottagning" ? DemoRequests.SocialServicesUnit : "malmo-mottagning", subjectId = plant.Number,
                findings = "Behov av föräldrastöd.", childsRatings = new[] { new { problemArea = "Skola", rating = 5, occasion = "Start" } }, actingUser = ActingUser,
            }),
            "JointPlanRequest" => Obj(new { receivingUnit = actor.Receiver, subjectId = plant.Number, plan = "BVC följer vikten.", followUpOn = "2027-02-01", actingUser = ActingUser }),
            "JointActivityPlanningRequest" => Obj(new { receivingUnit = actor.Receiver, subjectId = plant.Number, activity = "HomeVisit", proposal = "Hembesök vecka 3.", contact = plant.Name, actingUser = ActingUser }),
            "WebhookRegistration" => Obj(new { url = "https://127.0.0.1:9/hook" }),
            "RecordConsentRequest" => WithName(Obj(DemoRequests.Consent(plant.Number, new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero))), plant),
            "RevokeConsentRequest" => Obj(new { recordedBy = ActingUser, recordingUnit = actor.OwnUnit, reason = $"Återkallat av {plant.Name}" }),
            // A made-up adult's valid number: no consent records it, so a good body reaches the look-up and is refused there.
            "CustodyChangeRequest" => Obj(new { subjectId = plant.Number, grantorId = "198503152343", recordedBy = ActingUser, recordingUnit = actor.OwnUnit, journalReference = $"Vårdnadsbeslut {plant.Name}" }),
            // The consent service's fuzz actor holds no accountability duty, so these reach the duty check and are refused there.
            "LogExtractRequest" => Obj(new { subjectId = plant.Number, requester = "Guardian", protectedIdentity = false, requestedBy = ActingUser }),
            "ReviewRequest" => Obj(new { note = $"Granskad. {plant.Name}", reviewedBy = ActingUser }),
            "FollowUpRequest" => Obj(new { unit = actor.OwnUnit, from = "2026-11-01T00:00:00Z", to = "2026-11-02T00:00:00Z", sampleSize = 5, seed = 1, requestedBy = ActingUser }),
            _ => null,
        };
        return body ?? FromSchema(world, schema, plant, depth: 0);
    }

    private static JsonObject WithName(JsonObject consent, Plant plant)
    {
        consent["grantors"]![0]!["name"] = plant.Name;
        consent["validFrom"] = DateTimeOffset.UtcNow.AddMinutes(-1);
        consent["validUntil"] = DateTimeOffset.UtcNow.AddMonths(3);
        return consent;
    }

    private static JsonObject FromSchema(FuzzWorld world, string name, Plant plant, int depth)
    {
        var result = new JsonObject();
        if (depth > 3 || !world.Schemas.TryGetValue(name, out var schema))
        {
            return result;
        }

        foreach (var (property, definition) in schema["properties"]?.AsObject() ?? [])
        {
            result[property] = definition?["$ref"] is { } reference
                ? FromSchema(world, reference.GetValue<string>().Split('/')[^1], plant, depth + 1)
                : definition?["type"]?.ToString() switch
                {
                    var t when t?.Contains("integer") == true => 1,
                    var t when t?.Contains("boolean") == true => true,
                    var t when t?.Contains("array") == true => new JsonArray(),
                    _ => plant.Name,
                };
        }

        return result;
    }

    private static JsonObject Obj(object value) => JsonSerializer.SerializeToNode(value, JsonSerializerOptions.Web)!.AsObject();

    public enum Mutation
    {
        None,
        Good,
        FieldReplaced,
        FieldRemoved,
        FieldControlInserted,
        BodyNull,
        BodyArray,
        BodyString,
        BodyNumber,
        BodyEmpty,
        BodyEmptyObject,
        BodyDeep,
        BodyInvalid,
        BodyWrongContentType,
        BodyDuplicateKeys,
    }

    private static readonly Gen<Mutation> Mutations = Gen.Frequency(
        (8, Gen.Constant(Mutation.Good)),
        (46, Gen.Constant(Mutation.FieldReplaced)),
        (8, Gen.Constant(Mutation.FieldRemoved)),
        (12, Gen.Constant(Mutation.FieldControlInserted)),
        (3, Gen.Constant(Mutation.BodyNull)),
        (3, Gen.Constant(Mutation.BodyArray)),
        (2, Gen.Constant(Mutation.BodyString)),
        (2, Gen.Constant(Mutation.BodyNumber)),
        (3, Gen.Constant(Mutation.BodyEmpty)),
        (2, Gen.Constant(Mutation.BodyEmptyObject)),
        (2, Gen.Constant(Mutation.BodyDeep)),
        (3, Gen.Constant(Mutation.BodyInvalid)),
        (2, Gen.Constant(Mutation.BodyWrongContentType)),
        (2, Gen.Constant(Mutation.BodyDuplicateKeys)));

    public enum HostileValueKind
    {
        Null,
        Number,
        Boolean,
        Object,
        Array,
        EmptyString,
        PlantedNumber,
        PlantedNumberShort,
        PlantedName,
        NullsInList,
        WrongItemsInList,
        ControlCharacters,
        LoneSurrogate,
        BidiOverride,
        Long200Kb,
        DeepNesting,
        HugeList900Kb,
        HugeNumber,
        ForeignUnit,
    }

    private static readonly Gen<HostileValueKind> HostileValue = Gen.Frequency(
        (8, Gen.Constant(HostileValueKind.Null)),
        (6, Gen.Constant(HostileValueKind.Number)),
        (4, Gen.Constant(HostileValueKind.Boolean)),
        (5, Gen.Constant(HostileValueKind.Object)),
        (5, Gen.Constant(HostileValueKind.Array)),
        (5, Gen.Constant(HostileValueKind.EmptyString)),
        (10, Gen.Constant(HostileValueKind.PlantedNumber)),
        (5, Gen.Constant(HostileValueKind.PlantedNumberShort)),
        (8, Gen.Constant(HostileValueKind.PlantedName)),
        (6, Gen.Constant(HostileValueKind.NullsInList)),
        (5, Gen.Constant(HostileValueKind.WrongItemsInList)),
        (8, Gen.Constant(HostileValueKind.ControlCharacters)),
        (3, Gen.Constant(HostileValueKind.LoneSurrogate)),
        (3, Gen.Constant(HostileValueKind.BidiOverride)),
        (2, Gen.Constant(HostileValueKind.Long200Kb)),
        (3, Gen.Constant(HostileValueKind.DeepNesting)),
        (1, Gen.Constant(HostileValueKind.HugeList900Kb)),
        (3, Gen.Constant(HostileValueKind.HugeNumber)),
        (6, Gen.Constant(HostileValueKind.ForeignUnit)));

    private static readonly string[] Controls = ["\u0000", "\u0001", "\u0007", "\u0008", "\u000b", "\u000c", "\u001b", "\u007f", "\u0085", "\u009b", "\ufffe", "\uffff"];

    private static (string Body, string ContentType) Mutate(JsonObject good, Mutation mutation, int field, HostileValueKind value, Plant plant)
    {
        const string json = "application/json";
        var names = good.Select(p => p.Key).ToList();
        var name = names.Count == 0 ? "unexpected" : names[field % names.Count];
        switch (mutation)
        {
            case Mutation.Good or Mutation.None:
                return (good.ToJsonString(), json);
            case Mutation.FieldRemoved:
                good.Remove(name);
                return (good.ToJsonString(), json);
            case Mutation.FieldControlInserted:
                {
                    var original = good[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : plant.Name;
                    var at = field % (original.Length + 1);
                    good[name] = original[..at] + Controls[field % Controls.Length] + original[at..];
                    return (Serialize(good), json);
                }

            case Mutation.FieldReplaced:
                {
                    var raw = Raw(value, plant, field);
                    var marker = "\"__fuzz_marker__\"";
                    good[name] = "__fuzz_marker__";
                    return (good.ToJsonString().Replace(marker, raw, StringComparison.Ordinal), json);
                }

            case Mutation.BodyNull: return ("null", json);
            case Mutation.BodyArray: return ($"[{good.ToJsonString()}]", json);
            case Mutation.BodyString: return (JsonSerializer.Serialize(plant.Number), json);
            case Mutation.BodyNumber: return ("12345678901234567890", json);
            case Mutation.BodyEmpty: return ("", json);
            case Mutation.BodyEmptyObject: return ("{}", json);
            case Mutation.BodyDeep: return (new string('[', 5000) + new string(']', 5000), json);
            case Mutation.BodyInvalid: return (good.ToJsonString()[..Math.Max(1, good.ToJsonString().Length / 2)], json);
            case Mutation.BodyWrongContentType: return (good.ToJsonString(), "text/plain");
            case Mutation.BodyDuplicateKeys:
                return (good.ToJsonString().TrimEnd('}') + $",\"{name}\":{JsonSerializer.Serialize(plant.Number)}}}", json);
            default:
                throw new ArgumentOutOfRangeException(nameof(mutation));
        }
    }

    /// <summary>With \u escapes for control characters and surrogates as they are, which the serializer would not write.</summary>
    private static string Serialize(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static string Raw(HostileValueKind value, Plant plant, int seed) => value switch
    {
        HostileValueKind.Null => "null",
        HostileValueKind.Number => (seed * 7919 - 3_000_000).ToString(CultureInfo.InvariantCulture),
        HostileValueKind.Boolean => seed % 2 == 0 ? "true" : "false",
        HostileValueKind.Object => $"{{\"name\":{JsonSerializer.Serialize(plant.Name)},\"id\":{JsonSerializer.Serialize(plant.Number)}}}",
        HostileValueKind.Array => $"[{JsonSerializer.Serialize(plant.Number)},{JsonSerializer.Serialize(plant.Name)}]",
        HostileValueKind.EmptyString => seed % 2 == 0 ? "\"\"" : "\"   \"",
        HostileValueKind.PlantedNumber => JsonSerializer.Serialize(seed % 2 == 0 ? plant.Number : plant.NumberWithHyphen),
        HostileValueKind.PlantedNumberShort => JsonSerializer.Serialize(plant.ShortNumber),
        HostileValueKind.PlantedName => JsonSerializer.Serialize(plant.Name),
        HostileValueKind.NullsInList => seed % 2 == 0 ? "[null]" : "[\"FamilySituation\",null]",
        HostileValueKind.WrongItemsInList => $"[{JsonSerializer.Serialize(plant.Number)},42,{{}},[]]",
        HostileValueKind.ControlCharacters => $"\"{plant.Name}\\u0000\\u001b[2J\\u0007\"",
        HostileValueKind.LoneSurrogate => $"\"{plant.Name} \\ud800 \\udfff\"",
        HostileValueKind.BidiOverride => $"\"{plant.Name} \\u202e\\u2066 {plant.Number}\"",
        HostileValueKind.Long200Kb => JsonSerializer.Serialize(plant.Name + new string('x', 200_000)),
        HostileValueKind.DeepNesting => new string('[', 2000) + JsonSerializer.Serialize(plant.Number) + new string(']', 2000),
        HostileValueKind.HugeList900Kb => "[" + string.Join(',', Enumerable.Repeat(JsonSerializer.Serialize(plant.Name), 900_000 / (plant.Name.Length + 3))) + "]",
        HostileValueKind.HugeNumber => seed % 2 == 0 ? "1e400" : "123456789012345678901234567890",
        HostileValueKind.ForeignUnit => "\"solglantan-bvc\"",
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    // ---- paths and queries ----

    private static readonly Gen<string> HostileText = Gen.Elements(
        "", " ", "..", "%00", "a\u0000b", "\u202e", "SELECT 1", "' OR '1'='1", "00000000-0000-0000-0000-000000000000", "not-a-guid",
        new string('a', 3000), "rosengard-bvc/../rosengard-mvc", "🙂", "-1", "9223372036854775808");

    private static readonly Gen<string> QueryValue = Gen.Elements(
        "", "", "", "0", "1", "50", "-1", "501", "100000", "9223372036854775808", "abc", "true", "null", "<planted>",
        "00000000-0000-0000-0000-000000000000", "not-a-cursor", "\u0000", new string('9', 400));
}

/// <summary>Personal data planted in one request: a well-formed identity number (three spellings) and a name.</summary>
internal sealed record Plant(string Number, string NumberWithHyphen, string ShortNumber, string Name)
{
    public IReadOnlyList<string> Tokens => [Number, NumberWithHyphen, ShortNumber, Name.Split(' ')[0], Name.Split(' ')[1]];

    /// <summary>
    /// A child born 2021-2023 (the other tests' subjects are born from 2024) with a serial of 900 or more and the
    /// correct check digit, so a consent for it is valid; and a made-up name from the index.
    /// </summary>
    public static Plant For(int index)
    {
        var birth = new DateOnly(2021, 1, 1).AddDays(index % 1000);
        var serial = 900 + index / 1000 % 100;
        var nine = string.Create(CultureInfo.InvariantCulture, $"{birth:yyMMdd}{serial:000}");
        var check = DemoIdentityNumbers.CheckDigit(nine);
        var number = string.Create(CultureInfo.InvariantCulture, $"{birth:yyyyMMdd}{serial:000}{check}");
        var letters = new StringBuilder();
        for (var i = index; letters.Length < 6; i /= 26)
        {
            letters.Append((char)('a' + i % 26));
        }

        return new Plant(number, number[..8] + "-" + number[8..], number[2..8] + "-" + number[8..], $"Fuzzhild Q{letters}");
    }
}
