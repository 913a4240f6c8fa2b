using Dapper;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>Every consent version in the hash-chained ledger, metadata only, once, even when the first append fails.</summary>
public sealed class ConsentLedgerTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly Pseudonymizer Pseudonyms = new(Options.Create(new PseudonymOptions { Key = Convert.ToBase64String(new byte[32]) }));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ConsentRecord Version(ConsentRecord c, int version, ConsentChange change) =>
        c with { Version = version, Change = change, ActingSystem = "bvc-ehr", RecordedBy = "SE2321000016-BVC1", RecordedAt = Now.AddMinutes(version) };

    [Fact]
    public async Task RecordAsync_EachVersion_IsOneEntryInAnIntactChainWithNoPersonalData()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var writer = new LedgerWriter(db);
        await writer.StartAsync(Ct);
        var ledger = new ConsentLedger(db, writer, Pseudonyms, NullLogger<ConsentLedger>.Instance);
        var consent = ConsentFor("bvc", "social");

        await ledger.RecordAsync(Version(consent, 1, ConsentChange.Recorded), Ct);
        await ledger.RecordAsync(Version(consent, 2, ConsentChange.Narrowed), Ct);
        await ledger.RecordAsync(Version(consent, 2, ConsentChange.Narrowed), Ct); // a retry
        await ledger.RecordAsync(Version(consent, 3, ConsentChange.Revoked) with { State = ConsentState.Revoked }, Ct);

        await using var connection = await db.OpenConnectionAsync(Ct);
        var rows = (await connection.QueryAsync<(string Kind, string Outcome, string Everything)>(
            "SELECT kind, outcome, row_to_json(ledger)::text FROM ledger WHERE consent_id = @Id ORDER BY seq", new { consent.Id })).ToList();
        rows.Select(r => (r.Kind, r.Outcome)).ShouldBe([("consent-recorded", "version 1"), ("consent-narrowed", "version 2"), ("consent-revoked", "version 3")]);
        foreach (var (_, _, everything) in rows)
        {
            everything.ShouldNotContain(Child);
            everything.ShouldNotContain("Vårdnadshavare");
            everything.ShouldNotContain(consent.Situation);
            everything.ShouldContain(Pseudonyms.For(Child));
        }

        (await new DecisionLedger().VerifyAsync(connection, Ct)).Intact.ShouldBeTrue();
        await writer.StopAsync(Ct);
    }

    [Fact]
    public async Task Loop_VersionCommittedWithoutItsEntry_IsAppendedOnce()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var writer = new LedgerWriter(db);
        await writer.StartAsync(Ct);
        var store = new ConsentStore(db, Pseudonyms);
        var consent = Version(ConsentFor("bvc", "social"), 1, ConsentChange.Recorded) with { RecordedAt = DateTimeOffset.UtcNow.AddMinutes(-1) };
        await store.AddVersionAsync(consent, Ct); // committed; the append that should follow never happened
        var ledger = new ConsentLedger(db, writer, Pseudonyms, NullLogger<ConsentLedger>.Instance);

        await ledger.StartAsync(Ct);
        await using var connection = await db.OpenConnectionAsync(Ct);
        await Eventually.MatchAsync(
            () => connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE consent_id = @Id", new { consent.Id }),
            count => count > 0, TimeSpan.FromSeconds(30), _ => "the loop did not append the committed version's missing entry within 30 s",
            TimeSpan.FromMilliseconds(200), Ct);

        await Task.Delay(TimeSpan.FromSeconds(6), Ct); // another round of the loop
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE consent_id = @Id", new { consent.Id })).ShouldBe(1);
        await ledger.StopAsync(Ct);
        await writer.StopAsync(Ct);
    }

    [Fact]
    public async Task Loop_VersionCommittedWithoutItsEntryWhileItRuns_IsAppendedByARecentPass()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var writer = new LedgerWriter(db);
        await writer.StartAsync(Ct);
        var store = new ConsentStore(db, Pseudonyms);
        var ledger = new ConsentLedger(db, writer, Pseudonyms, NullLogger<ConsentLedger>.Instance);
        await ledger.StartAsync(Ct);
        await Task.Delay(TimeSpan.FromSeconds(6), Ct); // the pass of everything at the start is done: the next ones are recent passes

        var consent = Version(ConsentFor("bvc", "social"), 1, ConsentChange.Recorded) with { RecordedAt = DateTimeOffset.UtcNow };
        await store.AddVersionAsync(consent, Ct); // committed; the append that should follow never happened
        await using var connection = await db.OpenConnectionAsync(Ct);
        await Eventually.MatchAsync(
            () => connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE consent_id = @Id", new { consent.Id }),
            count => count == 1, TimeSpan.FromSeconds(30), _ => "a recent pass did not append the version's missing entry within 30 s",
            TimeSpan.FromMilliseconds(200), Ct);
        await ledger.StopAsync(Ct);
        await writer.StopAsync(Ct);
    }
}
