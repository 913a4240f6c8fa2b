using System.Reflection;
using System.Text.Json;

namespace FamiljecentralHub.LocalHub;

/// <summary>Where the repository's built binaries and demo configuration are.</summary>
internal sealed class RepositoryLayout
{
    public const string SolutionFile = "FamiljecentralHub.sln";
    private const string TargetFramework = "net10.0";

    private RepositoryLayout(string root, string configuration)
    {
        Root = root;
        Configuration = configuration;
    }

    public string Root { get; }

    public string Configuration { get; }

    public string OrganisationPath => Path.Combine(Root, "deploy", "demo", "organisation.json");

    public string ClientsPath => Path.Combine(Root, "deploy", "demo", "clients.json");

    public string DefaultStateDir => Path.Combine(Root, ".hub");

    public string GatewayDll => Path.Combine(Root, "gateway", "Gateway", "bin", Configuration, TargetFramework, "FamiljecentralHub.Gateway.dll");

    /// <summary>
    /// The configuration LocalHub itself was built with, so a Release build of the tests runs Release services.
    /// </summary>
    public static string BuiltConfiguration =>
        typeof(RepositoryLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Debug";

    public static RepositoryLayout Locate(string? root = null, string? configuration = null) =>
        new(Path.GetFullPath(root ?? FindRoot()), configuration ?? BuiltConfiguration);

    public string ServiceDll(HubService service) =>
        Path.Combine(Root, "services", service.Project, "bin", Configuration, TargetFramework, $"FamiljecentralHub.{service.Project}.dll");

    /// <summary>Fails naming every missing binary, so one message says what to build.</summary>
    public void RequireBuilt()
    {
        var missing = HubService.All.Select(ServiceDll).Append(GatewayDll).Where(path => !File.Exists(path)).ToList();
        if (missing.Count > 0)
        {
            throw new LocalHubException(
                $"Not built ({Configuration}): {string.Join(", ", missing.Select(path => Path.GetRelativePath(Root, path)))}. "
                + $"Run: dotnet build {SolutionFile} -c {Configuration}");
        }
    }

    /// <summary>The client system ids of deploy/demo/clients.json, one client certificate each.</summary>
    public IReadOnlyList<string> ReadClientIds()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(ClientsPath));
        return document.RootElement.GetProperty("clients").EnumerateArray()
            .Select(client => client.GetProperty("id").GetString() ?? throw new LocalHubException($"A client in {ClientsPath} has no id."))
            .ToList();
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
            {
                return directory.FullName;
            }
        }
        throw new LocalHubException($"No {SolutionFile} above {AppContext.BaseDirectory}; set HubOptions.RepositoryRoot.");
    }
}
