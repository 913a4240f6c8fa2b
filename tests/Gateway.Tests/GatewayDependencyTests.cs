using System.Reflection;
using System.Text.Json;

namespace FamiljecentralHub.Gateway.Tests;

/// <summary>
/// The gateway speaks HTTP only: it has no broker and no database, so it must not load or ship their clients. They came
/// in once through ServiceDefaults; the gateway now references ServiceDefaults.Hosting alone. Each library it carries is
/// code that runs in the one process facing the outside, and a version pinned for the services would pin it too.
/// </summary>
public sealed class GatewayDependencyTests
{
    private static readonly string[] Forbidden = ["MassTransit", "RabbitMQ", "Npgsql", "Dapper", "dbup"];

    [Fact]
    public void The_gateway_assembly_references_no_messaging_or_database_assembly()
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Stack<Assembly>([typeof(Proxy.CallerHeaderTransform).Assembly]);
        var offending = new List<string>();
        while (pending.TryPop(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (reference.Name is not { } name || !seen.Add(name))
                {
                    continue;
                }

                if (IsForbidden(name))
                {
                    offending.Add($"{name} (from {assembly.GetName().Name})");
                }
                else if (name.StartsWith("FamiljecentralHub.", StringComparison.Ordinal))
                {
                    // Only the hub's own assemblies are walked: a forbidden one can only come in through them.
                    pending.Push(Assembly.Load(reference));
                }
            }
        }

        offending.ShouldBeEmpty();
    }

    [Fact]
    public void The_gateway_ships_no_messaging_or_database_package()
    {
        // The gateway's own deps.json (beside this project's output, from which GatewayFixture starts it) lists every
        // package it may load, used in code or not.
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "FamiljecentralHub.Gateway.deps.json")));
        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();

        libraries.ShouldContain(l => l.StartsWith("Yarp.ReverseProxy/", StringComparison.Ordinal), "the file read is the gateway's");
        libraries.Where(IsForbidden).ShouldBeEmpty();
    }

    private static bool IsForbidden(string name) => Forbidden.Any(f => name.StartsWith(f, StringComparison.OrdinalIgnoreCase));
}
