using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.LocalHub;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Every operation every service publishes in its OpenAPI document, read through the gateway, has a summary and a line
/// in docs/api.md saying who may call it and what personal data it exposes (issue 14 item 8): a new endpoint without
/// either fails here.
/// </summary>
public sealed class ApiDocumentationTests(HubFixture hub)
{
    private static readonly Dictionary<string, string> ClientFor = new(StringComparer.Ordinal)
    {
        ["maternity-care"] = "mvc-ehr",
        ["child-health"] = "bvc-ehr",
        ["open-preschool"] = "forskola-system",
        ["social-services"] = "socialtjanst-system",
        ["consent"] = "bvc-ehr",
        ["ops"] = "ops-console",
    };

    private static readonly string[] OperationServices = ["maternity-care", "child-health", "open-preschool", "social-services"];

    [Fact]
    public async Task EveryOperation_HasASummaryAndALineInTheEndpointCatalogue()
    {
        var catalogue = await File.ReadAllTextAsync(Path.Combine(hub.Hub.RepositoryRoot, "docs", "api.md"), TestContext.Current.CancellationToken);
        var missing = new List<string>();
        var operations = 0;
        foreach (var service in Hub.ServiceNames)
        {
            using var client = hub.Client(ClientFor[service]);
            var document = (await client.GetFromJsonAsync<JsonObject>($"/{service}/openapi/v1.json", TestContext.Current.CancellationToken))!;
            foreach (var (template, item) in document["paths"]!.AsObject())
            {
                foreach (var (method, operation) in item!.AsObject().Where(o => o.Key is "get" or "post" or "put" or "delete" or "patch"))
                {
                    operations++;
                    var name = $"{method.ToUpperInvariant()} /{service}{template}";
                    if (string.IsNullOrWhiteSpace(operation?["summary"]?.GetValue<string>()))
                    {
                        missing.Add($"{name}: no summary in OpenAPI");
                    }

                    var shared = OperationServices.Contains(service) ? $"`{method.ToUpperInvariant()} /<service>{template}`" : null;
                    if (!catalogue.Contains($"`{name}`", StringComparison.Ordinal) && (shared is null || !catalogue.Contains(shared, StringComparison.Ordinal)))
                    {
                        missing.Add($"{name}: not in docs/api.md");
                    }
                }
            }
        }

        operations.ShouldBeGreaterThan(30, "every service's document was read");
        missing.ShouldBeEmpty();
    }
}
