using Npgsql;

namespace FamiljecentralHub.Consent.Features.Ledger;

/// <summary>
/// <c>FamiljecentralHub.Consent verify-ledger</c>: walks the whole chain in the configured database and names the first
/// broken link. Exit code 0 when intact, 2 when broken, so it can run from cron or a monitoring check.
/// </summary>
internal static class LedgerCommand
{
    public static bool IsInvoked(string[] args) => args is ["verify-ledger", ..];

    public static async Task<int> VerifyAsync(IConfiguration configuration, TextWriter output)
    {
        await using var db = NpgsqlDataSource.Create(configuration.GetConnectionString("Database")
            ?? throw new InvalidOperationException("ConnectionStrings:Database is not set."));
        await using var connection = await db.OpenConnectionAsync();
        var result = await new DecisionLedger().VerifyAsync(connection, CancellationToken.None);
        if (result.Intact)
        {
            await output.WriteLineAsync($"Ledger intact: {result.EntriesChecked} entries, every link holds.");
            return 0;
        }

        await output.WriteLineAsync($"Ledger BROKEN at entry {result.FirstBrokenSeq}: {result.Problem}. {result.EntriesChecked} entries before it hold.");
        return 2;
    }
}
