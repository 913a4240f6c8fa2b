using Dapper;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// The consent service's catch-up loops (a version's ledger entry, a revocation's announcement, a narrowing's or custody
/// change's sweep) run every few seconds for as long as the hub runs, while consent versions and custody changes only
/// grow. A pass between two that found everything done must cost what changed since, not every version ever recorded.
/// </summary>
public sealed class CatchUpQueryPlanTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Tables = ["consent_versions", "custody_changes", "ledger", "revocation_announcements", "coverage_sweeps"];

    public static TheoryData<string, string> Queries => new()
    {
        { "the consent ledger's look for versions not yet in it (every 5 s)", ConsentLedger.MissingSql(CatchUpPasses.Pass.Recent) },
        { "the announcer's look for revocations not announced (every 2 s)", RevocationAnnouncer.PendingSql(CatchUpPasses.Pass.Recent) },
        { "the sweeper's look for narrowed versions not swept (every 2 s)", CoverageWithdrawals.PendingVersionsSql(CatchUpPasses.Pass.Recent) },
        { "the sweeper's look for custody changes not swept (every 2 s)", CoverageWithdrawals.PendingCustodySql(CatchUpPasses.Pass.Recent) },
        { "the sweeper's look for consents at their end not swept (every 2 s)", CoverageWithdrawals.PendingEndsSql(CatchUpPasses.Pass.Recent) },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task RecentPass_OnTwoYearsOfConsents_ReadsNoTableWhole(string what, string sql)
    {
        await using var db = await postgres.NewDatabaseAsync();
        await using var connection = await db.OpenConnectionAsync(Ct);
        // Two years of versions, every one done: ledgered, a revocation announced, a narrowing swept; and custody changes.
        await connection.ExecuteAsync(
            """
            INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at, valid_until)
            SELECT md5('c' || (n / 3))::uuid, n % 3 + 1, 'p-' || (n / 3), CASE n % 3 WHEN 2 THEN 'Revoked' ELSE 'Active' END,
                   jsonb_build_object('change', CASE n % 3 WHEN 0 THEN 'Recorded' WHEN 1 THEN 'Narrowed' ELSE 'Revoked' END),
                   now() - interval '730 days' + n * interval '17 minutes', now() - interval '550 days' + n * interval '17 minutes'
            FROM generate_series(0, 59999) AS n
            WHERE now() - interval '730 days' + n * interval '17 minutes' < now() - interval '1 hour';
            INSERT INTO ledger (seq, message_id, kind, outcome, sending_unit, receiving_unit, acting_system, acting_user, subject_pseudonym,
                                purpose, categories, basis, consent_id, reasons, review, at, prev_hash, hash)
            SELECT row_number() OVER (), gen_random_uuid(), 'consent-' || lower(record->>'change'), 'version ' || version,
                   'rosengard-bvc', 'rosengard-socialtjanst', 'bvc-ehr', NULL, subject_pseudonym, 'Referral', '{FamilySituation}',
                   NULL, consent_id, '{}', false, recorded_at, '\x00', '\x00'
            FROM consent_versions;
            INSERT INTO revocation_announcements (consent_id, version, announced_at)
            SELECT consent_id, version, recorded_at FROM consent_versions WHERE state = 'Revoked';
            INSERT INTO coverage_sweeps (change_id, version, swept_at)
            SELECT consent_id, version, recorded_at FROM consent_versions WHERE version > 1 AND state = 'Active';
            INSERT INTO custody_changes (id, subject_pseudonym, grantor_pseudonym, no_longer_guardian_from, recorded_at, recorded_by,
                                         recording_unit, acting_system)
            SELECT md5('k' || n)::uuid, 'p-' || n, 'g-' || n, now() - interval '730 days' + n * interval '1 hour',
                   now() - interval '730 days' + n * interval '1 hour', 'SE2321000016-BVC1', 'rosengard-bvc', 'bvc-ehr'
            FROM generate_series(0, 9999) AS n;
            INSERT INTO coverage_sweeps (change_id, version, swept_at) SELECT id, 0, recorded_at FROM custody_changes;
            ANALYZE;
            """);

        var (nodes, plan) = await GenericPlan.ExplainAsync(connection, sql, new Dictionary<string, (string, string)>());
        var whole = nodes.Where(n => n.GetProperty("Node Type").GetString() == "Seq Scan" && Tables.Contains(n.GetProperty("Relation Name").GetString()))
            .Select(n => n.GetProperty("Relation Name").GetString());
        whole.ShouldBeEmpty($"{what} reads a whole table: {plan}");
    }
}

/// <summary>When a catch-up loop may read only the recent versions, and when it must read them all.</summary>
public sealed class CatchUpPassesTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void AllAtStart_ThenRecentWhileEveryPassFindsAllDone()
    {
        var clock = new Clock();
        var passes = new CatchUpPasses(clock);

        passes.Next().ShouldBe(CatchUpPasses.Pass.All);
        passes.Finished(foundAll: true);
        for (var i = 0; i < 10; i++)
        {
            clock.Now += TimeSpan.FromSeconds(2);
            passes.Next().ShouldBe(CatchUpPasses.Pass.Recent);
            passes.Finished(foundAll: true);
        }
    }

    [Fact]
    public void AllAgain_WhenNoPassFoundAllDoneForLongerThanTheLookBackCovers()
    {
        var clock = new Clock();
        var passes = new CatchUpPasses(clock);
        passes.Next();
        passes.Finished(foundAll: true);

        // Passes that fail (never finished) or hit their limit do not move the mark, however many there are.
        var start = clock.Now;
        while (clock.Now + TimeSpan.FromSeconds(2) - start <= CatchUpPasses.RecentCovers)
        {
            clock.Now += TimeSpan.FromSeconds(2);
            passes.Next().ShouldBe(CatchUpPasses.Pass.Recent);
            passes.Finished(foundAll: false);
        }

        clock.Now += TimeSpan.FromSeconds(2);
        passes.Next().ShouldBe(CatchUpPasses.Pass.All);
        passes.Finished(foundAll: false);
        passes.Next().ShouldBe(CatchUpPasses.Pass.All, "an incomplete pass of everything is followed by another");
        passes.Finished(foundAll: true);
        passes.Next().ShouldBe(CatchUpPasses.Pass.Recent);
    }

    [Fact]
    public void AllOnceAnHour_EvenWhenEveryPassFoundAllDone()
    {
        var clock = new Clock();
        var passes = new CatchUpPasses(clock);
        passes.Next();
        passes.Finished(foundAll: true);
        var start = clock.Now;
        var all = 0;
        while (clock.Now - start < TimeSpan.FromHours(3))
        {
            clock.Now += TimeSpan.FromSeconds(5);
            all += passes.Next() == CatchUpPasses.Pass.All ? 1 : 0;
            passes.Finished(foundAll: true);
        }

        all.ShouldBe(3);
    }

    [Fact]
    public void TheLookBack_IsLongerThanTheGapItCovers()
    {
        // The SQL's interval against the gap between two passes that found all done, with room for a slow commit and skewed clocks.
        var lookBack = TimeSpan.FromMinutes(int.Parse(CatchUpPasses.RecentInterval.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        CatchUpPasses.RecentInterval.ShouldEndWith(" minutes");
        lookBack.ShouldBeGreaterThanOrEqualTo(CatchUpPasses.RecentCovers + TimeSpan.FromMinutes(5));
    }
}

/// <summary>
/// Which consent versions the sweeper takes up (<see cref="CoverageWithdrawals.PendingVersionsSql"/>): every change, and a
/// first version with a recorded "no", until swept; and one dated ahead again once it takes effect, since a "no" vetoes
/// only from its start.
/// </summary>
public sealed class PendingSweepsTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PendingVersions_AreChangesAndNos_NotYetSweptSinceTheyTookEffect()
    {
        await using var db = await postgres.NewDatabaseAsync();
        await using var connection = await db.OpenConnectionAsync(Ct);
        // name, version, answer, starts (relative to now), recorded, swept (null: never)
        var versions = new (string Name, int Version, string Answer, string Starts, string Recorded, string? Swept)[]
        {
            ("a no dated ahead, swept when recorded", 1, "No", "1 day", "-1 hour", "-1 hour"),
            ("a no that has taken effect since its sweep", 1, "No", "-5 minutes", "-2 hours", "-2 hours"),
            ("a no in effect when swept", 1, "No", "-3 hours", "-2 hours", "-2 hours"),
            ("a no never swept", 1, "No", "-1 hour", "-1 hour", null),
            ("a first yes", 1, "Yes", "-1 hour", "-1 hour", null),
            ("a change never swept", 2, "Yes", "-1 hour", "-1 hour", null),
            ("a change swept", 2, "Yes", "-1 hour", "-1 hour", "-50 minutes"),
        };
        foreach (var v in versions)
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at, valid_from)
                VALUES (md5(@Name)::uuid, @Version, 'p', 'Active',
                        jsonb_build_object('grantors', jsonb_build_array(jsonb_build_object('answer', @Answer)),
                                           'validFrom', now() + @Starts::interval),
                        now() + @Recorded::interval, now() + @Starts::interval);
                INSERT INTO coverage_sweeps (change_id, version, swept_at)
                SELECT md5(@Name)::uuid, @Version, now() + @Swept::interval WHERE @Swept IS NOT NULL;
                """,
                new { v.Name, v.Version, v.Answer, v.Starts, v.Recorded, v.Swept });
        }

        async Task<List<string>> PendingAsync(CatchUpPasses.Pass pass)
        {
            var pending = (await connection.QueryAsync<Guid>($"SELECT ConsentId FROM ({CoverageWithdrawals.PendingVersionsSql(pass)}) p")).ToHashSet();
            return versions.Where(v => pending.Contains(Md5Guid(v.Name))).Select(v => v.Name).ToList();
        }

        (await PendingAsync(CatchUpPasses.Pass.All)).ShouldBe(
            ["a no that has taken effect since its sweep", "a no never swept", "a change never swept"], ignoreOrder: true);
        // A pass over what changed lately finds the one whose start has just come, though it was recorded long ago.
        (await PendingAsync(CatchUpPasses.Pass.Recent)).ShouldBe(["a no that has taken effect since its sweep"]);
    }

    /// <summary>
    /// A consent's end sweeps it (what it alone let through and is unfetched is withdrawn): the current version of an
    /// active consent whose end has come, until a sweep decided at or after the end, and again a minute after it; found by
    /// a recent pass within the look-back of its end, however long ago it was recorded.
    /// </summary>
    [Fact]
    public async Task PendingEnds_AreCurrentVersionsWhoseEndHasCome_NotYetSweptSince()
    {
        await using var db = await postgres.NewDatabaseAsync();
        await using var connection = await db.OpenConnectionAsync(Ct);
        // name, version, state, ends (relative to now), swept (null: never) as the version's sweep or the end's (version
        // negated); the versions below the last are superseded; an end column left empty by an instance from before it
        var versions = new (string Name, int Version, string State, string Ends, string? Swept, bool EndsSweep, bool Column)[]
        {
            ("ended a moment ago, recorded long ago", 1, "Active", "-5 seconds", null, false, true),
            ("ended a moment ago, swept when recorded", 1, "Active", "-5 seconds", "-30 days", false, true),
            ("ended a moment ago, swept at its end", 1, "Active", "-5 seconds", "-4 seconds", true, true),
            ("ended two minutes ago, swept only at its end", 1, "Active", "-2 minutes", "-119 seconds", true, true),
            ("ended an hour ago, never swept", 1, "Active", "-1 hour", null, false, true),
            ("ended an hour ago, its column empty", 1, "Active", "-1 hour", null, false, false),
            ("ended, swept twice", 1, "Active", "-1 hour", "-50 minutes", true, true),
            ("ended, changed back to end then", 2, "Active", "-1 hour", "-50 minutes", false, true),
            ("still in force", 1, "Active", "1 day", null, false, true),
            ("revoked, then ended", 2, "Revoked", "-5 seconds", null, false, true),
            ("changed to end later", 2, "Active", "1 day", null, false, true),
        };
        foreach (var v in versions)
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at, valid_from, valid_until)
                SELECT md5(@Name)::uuid, n, 'p', CASE WHEN n = @Version THEN @State ELSE 'Active' END,
                       jsonb_build_object('validUntil', CASE WHEN n = @Version THEN now() + @Ends::interval ELSE now() - interval '1 minute' END),
                       now() - interval '60 days', now() - interval '60 days',
                       CASE WHEN NOT @Column THEN NULL WHEN n = @Version THEN now() + @Ends::interval ELSE now() - interval '1 minute' END
                FROM generate_series(1, @Version) AS n;
                INSERT INTO coverage_sweeps (change_id, version, swept_at)
                SELECT md5(@Name)::uuid, CASE WHEN @EndsSweep THEN -@Version ELSE @Version END, now() + @Swept::interval WHERE @Swept IS NOT NULL;
                """,
                new { v.Name, v.Version, v.State, v.Ends, v.Swept, v.EndsSweep, v.Column });
        }

        async Task<List<string>> PendingAsync(CatchUpPasses.Pass pass)
        {
            var pending = (await connection.QueryAsync<Guid>(
                $"SELECT ConsentId FROM ({CoverageWithdrawals.PendingEndsSql(pass)}) p", new { Before = (DateTimeOffset?)null })).ToHashSet();
            return versions.Where(v => pending.Contains(Md5Guid(v.Name))).Select(v => v.Name).ToList();
        }

        (await PendingAsync(CatchUpPasses.Pass.All)).ShouldBe(
            ["ended a moment ago, recorded long ago", "ended a moment ago, swept when recorded", "ended two minutes ago, swept only at its end",
             "ended an hour ago, never swept", "ended an hour ago, its column empty"], ignoreOrder: true);
        // Found by a pass over what ended lately, and swept again a minute after the end.
        (await PendingAsync(CatchUpPasses.Pass.Recent)).ShouldBe(
            ["ended a moment ago, recorded long ago", "ended a moment ago, swept when recorded", "ended two minutes ago, swept only at its end"],
            ignoreOrder: true);
    }

    private static Guid Md5Guid(string text) =>
        Guid.Parse(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text))));
}
