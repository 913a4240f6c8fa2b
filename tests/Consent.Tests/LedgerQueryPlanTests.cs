using Dapper;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// The ledger is kept for at least five years and only grows: what the gate asks of it on every batch, and what its
/// background loops ask every few seconds, must cost what they find, not the whole chain.
/// </summary>
public sealed class LedgerQueryPlanTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Queries => new()
    {
        { "the writer's look for entries of the batch's messages", $"SELECT {DecisionLedger.Columns} FROM ledger WHERE message_id = ANY(@ids)" },
        { "the review counts (every 30 s, and for Ops's alert)", ReviewQueue.CountsSql },
        { "the consent ledger's look for versions not yet in it (every 5 s)", ConsentLedger.MissingSql(CatchUpPasses.Pass.Recent) },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Query_OnALargeLedger_DoesNotReadTheWholeChain(string what, string sql)
    {
        await using var db = await postgres.NewDatabaseAsync();
        await using var connection = await db.OpenConnectionAsync(Ct);
        await connection.ExecuteAsync(
            """
            INSERT INTO ledger (seq, message_id, kind, outcome, sending_unit, receiving_unit, acting_system, acting_user, subject_pseudonym,
                                purpose, categories, basis, consent_id, reasons, review, at, prev_hash, hash)
            SELECT n, gen_random_uuid(), CASE n % 4 WHEN 0 THEN 'decision' WHEN 1 THEN 'delivery' WHEN 2 THEN 'acknowledgement' ELSE 'consent-recorded' END,
                   'permitted', 'rosengard-bvc', 'rosengard-socialtjanst', 'bvc-ehr', NULL, 'p-' || (n % 5000), 'Referral', '{FamilySituation}',
                   'consent', NULL, '{}', n % 1000 = 0, now(), '\x00', '\x00'
            FROM generate_series(1, 60000) AS n;
            INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at)
            SELECT gen_random_uuid(), 1, 'p-' || n, 'Active', '{"change": "recorded"}', now() - interval '1 hour'
            FROM generate_series(1, 500) AS n;
            ANALYZE ledger;
            ANALYZE consent_versions;
            """);

        var (nodes, plan) = await GenericPlan.ExplainAsync(connection, sql, Parameters);
        var scans = nodes.Where(n => n.GetProperty("Node Type").GetString() == "Seq Scan" && n.GetProperty("Relation Name").GetString() == "ledger");
        scans.ShouldBeEmpty($"{what} reads the whole ledger: {plan}");
    }

    private static readonly Dictionary<string, (string Type, string Value)> Parameters = new(StringComparer.Ordinal)
    {
        ["ids"] = ("uuid[]", $"ARRAY['{Guid.NewGuid()}', '{Guid.NewGuid()}']::uuid[]"),
        ["assessed"] = ("text[]", "ARRAY['osl-25-12']"),
        ["units"] = ("text[]", "ARRAY['rosengard-bvc']"),
        ["all"] = ("boolean", "true"),
        ["overdueBefore"] = ("timestamptz", "now()"),
    };
}
