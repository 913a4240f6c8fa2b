using System.CommandLine;
using FamiljecentralHub.LocalHub.Bench;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'bench-ledger': issue 16's ledger figures (verification of ten million entries in under 60 s; the family's log
/// extract by subject pseudonym). A scratch PostgreSQL, no hub: only the consent service's schema and its own code.
/// </summary>
internal static class BenchLedgerCommand
{
    public static Command Create()
    {
        var entries = new Option<long>("--entries") { Description = "Entries in the generated chain.", DefaultValueFactory = _ => 10_000_000 };
        var subjects = new Option<int>("--subjects") { Description = "Distinct subject pseudonyms the entries are spread over.", DefaultValueFactory = _ => 200_000 };
        var lookups = new Option<int>("--lookups") { Description = "Log extracts asked, each for a random subject.", DefaultValueFactory = _ => 1000 };
        var runs = new Option<int>("--runs") { Description = "Timed verifications of the intact chain.", DefaultValueFactory = _ => 2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated chain and of the subjects looked up.", DefaultValueFactory = _ => 16 };
        var output = new Option<string?>("--output") { Description = "Also write the figures to this file." };
        var command = new Command("bench-ledger", "Generate a valid ledger chain, time its verification and the log extract by subject.")
        {
            entries, subjects, lookups, runs, seed, output,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(entries) < 2 || parseResult.GetValue(subjects) < 1 || parseResult.GetValue(lookups) < 1 || parseResult.GetValue(runs) < 1)
            {
                await Console.Error.WriteLineAsync("--entries must be at least 2, and --subjects, --lookups and --runs at least 1.");
                return 2;
            }

            var benchmark = new LedgerBenchmark(Console.Out);
            var exit = await benchmark.RunAsync(
                new LedgerBenchOptions(parseResult.GetValue(entries), parseResult.GetValue(subjects), parseResult.GetValue(lookups), parseResult.GetValue(runs), parseResult.GetValue(seed)),
                cancellationToken);
            if (parseResult.GetValue(output) is { } path && benchmark.Figures.Length > 0)
            {
                await File.WriteAllTextAsync(path, benchmark.Figures, cancellationToken);
            }

            return exit;
        });
        return command;
    }
}
