using System.CommandLine;

namespace FamiljecentralHub.LocalHub.Cli;

internal static class CommonOptions
{
    public static Option<string?> StateDir(string defaultDescription) => new("--state-dir")
    {
        Description = $"State directory (logs, PKI, node data, hub-state.json). Default: {defaultDescription}.",
    };

    public static string Resolve(string? stateDir, string defaultUnderRepository) =>
        Path.GetFullPath(stateDir ?? Path.Combine(RepositoryLayout.Locate().Root, defaultUnderRepository));
}
