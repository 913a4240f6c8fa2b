using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.LocalHub;

namespace FamiljecentralHub.EndToEnd.Tests.Fuzz;

/// <summary>A parameter of an operation, as its OpenAPI document describes it.</summary>
internal sealed record FuzzParameter(string Name, string In, string Type, string? Format);

/// <summary>One operation of one service, as its OpenAPI document describes it.</summary>
internal sealed record FuzzEndpoint(string Service, string Method, string Template, IReadOnlyList<FuzzParameter> Parameters, string? BodySchema)
{
    public override string ToString() => $"{Method} /{Service}{Template}";
}

/// <summary>
/// Every endpoint of every service, read from the services' own OpenAPI documents through the gateway: a new endpoint
/// is fuzzed without editing the test.
/// </summary>
internal static class FuzzEndpoints
{
    public static async Task<(IReadOnlyList<FuzzEndpoint> Endpoints, IReadOnlyDictionary<string, JsonObject> Schemas)> DiscoverAsync(
        Func<string, HttpClient> clientFor, CancellationToken cancellationToken)
    {
        var endpoints = new List<FuzzEndpoint>();
        var schemas = new Dictionary<string, JsonObject>();
        foreach (var service in Hub.ServiceNames)
        {
            using var client = clientFor(service);
            var document = (await client.GetFromJsonAsync<JsonObject>($"/{service}/openapi/v1.json", cancellationToken))!;
            foreach (var (name, schema) in document["components"]?["schemas"]?.AsObject() ?? [])
            {
                schemas.TryAdd(name, schema!.AsObject());
            }

            foreach (var (template, item) in document["paths"]!.AsObject())
            {
                foreach (var (method, operation) in item!.AsObject())
                {
                    if (method is "parameters" or "summary" or "description")
                    {
                        continue;
                    }

                    var parameters = (operation!["parameters"]?.AsArray() ?? []).Concat(item["parameters"]?.AsArray() ?? [])
                        .Select(p => p!.AsObject())
                        .Select(p => new FuzzParameter(
                            p["name"]!.GetValue<string>(), p["in"]!.GetValue<string>(),
                            TypeOf(p["schema"]), p["schema"]?["format"]?.GetValue<string>()))
                        .ToList();
                    var body = operation["requestBody"]?["content"]?["application/json"]?["schema"];
                    var bodySchema = body?["$ref"]?.GetValue<string>().Split('/')[^1] ?? (body is null ? null : "");
                    endpoints.Add(new FuzzEndpoint(service, method.ToUpperInvariant(), template, parameters, bodySchema));
                }
            }
        }

        return (endpoints, schemas);
    }

    private static string TypeOf(JsonNode? schema) => schema?["type"] switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray a => a.Select(t => t!.GetValue<string>()).FirstOrDefault(t => t != "null") ?? "string",
        _ => "string",
    };
}
