using System.Security.Cryptography;
using System.Text;
using Dapper;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Ledger;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>The hash-chained ledger against a real PostgreSQL: appends under load, redeliveries, tampering.</summary>
public sealed class DecisionLedgerTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static LedgerEntry Entry(Guid? messageId = null, LedgerOutcome outcome = LedgerOutcome.Permitted) => new()
    {
        MessageId = messageId ?? Guid.CreateVersion7(),
        Kind = LedgerKind.Decision,
        Outcome = outcome,
        SendingUnit = "rosengard-bvc",
        ReceivingUnit = "rosengard-socialtjanst",
        ActingSystem = "bvc-ehr",
        ActingUser = "SE2321000016-BVC1",
        SubjectPseudonym = "p-0123456789abcdef01234567",
        Purpose = "Referral",
        Categories = ["FamilySituation"],
        Basis = outcome == LedgerOutcome.Permitted ? "consent" : null,
        Reasons = outcome == LedgerOutcome.Permitted ? [] : ["no consent covers Referral from unit rosengard-bvc to unit rosengard-socialtjanst"],
        At = DateTimeOffset.UtcNow,
    };

    private static async Task<(LedgerWriter Writer, NpgsqlConnection Connection)> StartAsync(NpgsqlDataSource db)
    {
        var writer = new LedgerWriter(db);
        await writer.StartAsync(Ct);
        return (writer, await db.OpenConnectionAsync(Ct));
    }

    [Fact]
    public async Task Append_ManyConcurrentEntries_FormOneIntactChain()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);

        var written = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => writer.AppendAsync(Entry(), Ct)));

        written.Select(e => e.Seq).Order().ShouldBe(Enumerable.Range(1, 500).Select(i => (long)i));
        var verification = await new DecisionLedger().VerifyAsync(connection, Ct);
        verification.Intact.ShouldBeTrue(verification.Problem);
        verification.EntriesChecked.ShouldBe(500);
        await writer.StopAsync(Ct);
    }

    /// <summary>
    /// A review's entry written while its row was lost (a crash between the two commits) vouches for that review's note:
    /// a later review must not be stored under it, or the ledger would vouch for a note it never saw.
    /// </summary>
    [Fact]
    public async Task Review_OfADecisionWhoseReviewEntryIsAnothers_IsNotStoredUnderIt()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        var decision = await writer.AppendAsync(Entry() with { Review = true }, Ct);
        await writer.AppendAsync(ReviewQueue.Entry(decision, "Granskad: anmälan var befogad.", "SE2321000016-LOGG1", "region-loggranskning", DateTimeOffset.UtcNow), Ct);
        var queue = new ReviewQueue(db, writer, TestOrganisation.Bases, Options.Create(new AccountabilityOptions()), TimeProvider.System);

        var recorded = await queue.ReviewAsync(decision, "En annan anteckning.", "SE2321000016-LOGG2", "region-loggranskning", Ct);

        recorded.ShouldBeNull();
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM disclosure_reviews")).ShouldBe(0);
        await writer.StopAsync(Ct);
    }

    [Fact]
    public async Task Append_SameMessageTwice_KeepsTheFirstDecision()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        var id = Guid.CreateVersion7();

        var first = await writer.AppendAsync(Entry(id, LedgerOutcome.Refused), Ct);
        var second = await writer.AppendAsync(Entry(id, LedgerOutcome.Permitted), Ct);

        second.Outcome.ShouldBe(LedgerOutcome.Refused);
        second.Seq.ShouldBe(first.Seq);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger")).ShouldBe(1);
        await writer.StopAsync(Ct);
    }

    /// <summary>
    /// Entries are written in batches; one the database refuses must fail only its own message. Otherwise the messages
    /// batched with it would be retried in step with it, meet it in the same batch every time and be parked with it.
    /// </summary>
    [Fact]
    public async Task Append_OneEntryTheDatabaseRefusesAmongMany_FailsOnlyThatOne()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        const string refusedSubject = "p-000000000000000000000bad";
        await connection.ExecuteAsync($"ALTER TABLE ledger ADD CONSTRAINT refuse_one CHECK (subject_pseudonym <> '{refusedSubject}') NOT VALID");

        var entries = Enumerable.Range(0, 200).Select(i => Entry() with { SubjectPseudonym = i == 100 ? refusedSubject : Entry().SubjectPseudonym }).ToList();
        var appends = entries.Select(entry => writer.AppendAsync(entry, Ct)).ToList();
        var refused = await Should.ThrowAsync<PostgresException>(() => appends[100]);
        var written = await Task.WhenAll(appends.Where((_, i) => i != 100));

        refused.SqlState.ShouldBe(PostgresErrorCodes.CheckViolation);
        written.Select(e => e.Seq).Order().ShouldBe(Enumerable.Range(1, 199).Select(i => (long)i));
        var verification = await new DecisionLedger().VerifyAsync(connection, Ct);
        verification.Intact.ShouldBeTrue(verification.Problem);
        await writer.StopAsync(Ct);
    }

    [Theory]
    [InlineData("UPDATE ledger SET outcome = 'permitted' WHERE seq = 37", 37)]
    [InlineData("UPDATE ledger SET acting_user = 'someone-else' WHERE seq = 12", 12)]
    [InlineData("DELETE FROM ledger WHERE seq = 50", 50)]
    [InlineData("UPDATE ledger SET hash = sha256(hash) WHERE seq = 80", 80)]
    [InlineData("UPDATE ledger SET subject_pseudonym = 'p-ffffffffffffffffffffffff' WHERE seq = 99", 99)]
    [InlineData("UPDATE ledger SET categories = '{}' WHERE seq = 1", 1)]
    [InlineData("UPDATE ledger SET at = at + interval '1 microsecond' WHERE seq = 63", 63)]
    [InlineData("UPDATE ledger SET kind = 'Decision' WHERE seq = 20", 20)]
    [InlineData("UPDATE ledger SET consent_id = gen_random_uuid() WHERE seq = 44", 44)]
    // Two entries swapped: the first of them no longer links to the entry before it.
    [InlineData("UPDATE ledger SET seq = -seq WHERE seq IN (30, 31); UPDATE ledger SET seq = CASE seq WHEN -30 THEN 31 ELSE 30 END WHERE seq < 0", 30)]
    // An entry inserted (a copy of entry 49 as entry 50, the rest moved up one): the copy does not link to entry 49.
    [InlineData(
        "UPDATE ledger SET seq = -seq - 1 WHERE seq >= 50; UPDATE ledger SET seq = -seq WHERE seq < 0; "
        + "INSERT INTO ledger SELECT 50, gen_random_uuid(), kind, outcome, sending_unit, receiving_unit, acting_system, acting_user, subject_pseudonym, "
        + "purpose, categories, basis, consent_id, reasons, review, at, prev_hash, hash, digest FROM ledger WHERE seq = 49", 50)]
    // The newest entries removed but the last: a gap.
    [InlineData("DELETE FROM ledger WHERE seq BETWEEN 90 AND 99", 90)]
    public async Task Verify_AfterTampering_NamesTheFirstBrokenLink(string tampering, long brokenAt)
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        for (var i = 0; i < 100; i++)
        {
            await writer.AppendAsync(Entry(outcome: i % 3 == 0 ? LedgerOutcome.Refused : LedgerOutcome.Permitted), Ct);
        }

        // Only someone who can switch off the append-only trigger, i.e. the database owner, can tamper at all.
        await connection.ExecuteAsync($"ALTER TABLE ledger DISABLE TRIGGER ledger_append_only; {tampering}; ALTER TABLE ledger ENABLE TRIGGER ledger_append_only;");
        var verification = await new DecisionLedger().VerifyAsync(connection, Ct);

        verification.Intact.ShouldBeFalse();
        verification.FirstBrokenSeq.ShouldBe(brokenAt);
        await writer.StopAsync(Ct);
    }

    /// <summary>The digest binds a decision to the one submission it decided; the chain covers it like every other field.</summary>
    [Fact]
    public async Task Verify_AfterTamperingWithADigest_NamesThatEntry()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        for (var i = 0; i < 20; i++)
        {
            // Entries from before digests were recorded sit in the same chain as those after.
            await writer.AppendAsync(Entry() with { Digest = i < 10 ? null : SHA256.HashData(BitConverter.GetBytes(i)) }, Ct);
        }

        var intact = await new DecisionLedger().VerifyAsync(connection, Ct);
        intact.Intact.ShouldBeTrue(intact.Problem);
        (await connection.ExecuteScalarAsync<byte[]>("SELECT digest FROM ledger WHERE seq = 15")).ShouldBe(SHA256.HashData(BitConverter.GetBytes(14)));

        await connection.ExecuteAsync("ALTER TABLE ledger DISABLE TRIGGER ledger_append_only; UPDATE ledger SET digest = sha256(digest) WHERE seq = 15; ALTER TABLE ledger ENABLE TRIGGER ledger_append_only;");
        var verification = await new DecisionLedger().VerifyAsync(connection, Ct);

        verification.FirstBrokenSeq.ShouldBe(15);
        await writer.StopAsync(Ct);
    }

    /// <summary>An entry without a digest (every entry written before digests were) hashes exactly as it always did.</summary>
    [Fact]
    public void ComputeHash_WithoutADigest_IsTheHashOfTheFormBeforeDigests()
    {
        var entry = Entry() with { Seq = 7, At = DateTimeOffset.Parse("2026-11-25T10:00:00Z") };
        var prev = new byte[32];
        var before = string.Join('\u001f',
            "7", entry.MessageId.ToString("N"), "decision", "permitted", entry.SendingUnit, entry.ReceivingUnit, entry.ActingSystem,
            entry.ActingUser, entry.SubjectPseudonym, entry.Purpose, string.Join(',', entry.Categories), entry.Basis ?? "", "",
            string.Join('\u001e', entry.Reasons), "0", entry.At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture));

        entry.ComputeHash(prev).ShouldBe(SHA256.HashData([.. prev, .. Encoding.UTF8.GetBytes(before)]));
        (entry with { Digest = new byte[32] }).ComputeHash(prev).ShouldNotBe(entry.ComputeHash(prev));
    }

    /// <summary>
    /// The hash is of the one canonical text, however the fields are written out: text beyond ASCII, a lone surrogate
    /// (encoded as U+FFFD, as UTF-8 always encoded it), fields longer than any small buffer, every optional field set.
    /// </summary>
    [Theory]
    [InlineData("Familjesituation och föräldraskapsstöd", "å ä ö 🙂")]
    [InlineData("surrogates", "surrogates")]
    [InlineData("", "")]
    [InlineData("long", null)]
    public void ComputeHash_AnyText_IsTheHashOfTheCanonicalForm(string reason, string? user)
    {
        // Built here: an attribute's strings are stored as UTF-8, where a lone surrogate cannot survive.
        (reason, user) = reason == "surrogates" ? ("\ud800 lone high", "lone low \udc00") : (reason, user);
        var reasons = reason == "long" ? Enumerable.Range(0, 40).Select(i => new string((char)('a' + i % 26), 97) + "ä").ToArray() : [reason, reason + "!"];
        var entry = Entry() with
        {
            Seq = long.MaxValue, Kind = LedgerKind.ConsentChanged, Outcome = LedgerOutcome.Version, ConsentVersion = int.MaxValue,
            ActingUser = user, Categories = ["FamilySituation", reason, ""], Basis = user, ConsentId = Guid.NewGuid(), Reasons = reasons, Review = true,
            Digest = SHA256.HashData(Encoding.UTF8.GetBytes(reason)),
            At = DateTimeOffset.Parse("2026-11-25T10:00:00.123456+01:00", System.Globalization.CultureInfo.InvariantCulture),
        };
        var prev = SHA256.HashData(Encoding.UTF8.GetBytes("previous"));
        var canonical = string.Join('\u001f',
            long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.MessageId.ToString("N"), "consent-changed", $"version {int.MaxValue}",
            entry.SendingUnit, entry.ReceivingUnit, entry.ActingSystem, user ?? "", entry.SubjectPseudonym, entry.Purpose, string.Join(',', entry.Categories),
            user ?? "", entry.ConsentId!.Value.ToString("N"), string.Join('\u001e', reasons), "1",
            entry.At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), Convert.ToHexStringLower(entry.Digest));

        entry.ComputeHash(prev).ShouldBe(SHA256.HashData([.. prev, .. Encoding.UTF8.GetBytes(canonical)]));
    }

    /// <summary>
    /// Every kind and outcome hashes as the text it was always stored as: entries written when kinds and outcomes were
    /// strings verify unchanged. A text here must never change.
    /// </summary>
    [Theory]
    [InlineData(LedgerKind.Decision, LedgerOutcome.Refused, "decision", "refused")]
    [InlineData(LedgerKind.Conflict, LedgerOutcome.Conflict, "conflict:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "conflict")]
    [InlineData(LedgerKind.Delivery, LedgerOutcome.Delivered, "delivery", "delivered")]
    [InlineData(LedgerKind.Withdrawal, LedgerOutcome.Withdrawn, "withdrawal", "withdrawn")]
    [InlineData(LedgerKind.Acknowledgement, LedgerOutcome.Acknowledged, "acknowledgement", "acknowledged")]
    [InlineData(LedgerKind.ConsentRecorded, LedgerOutcome.Version, "consent-recorded", "version 1")]
    [InlineData(LedgerKind.ConsentChanged, LedgerOutcome.Version, "consent-changed", "version 1")]
    [InlineData(LedgerKind.ConsentNarrowed, LedgerOutcome.Version, "consent-narrowed", "version 1")]
    [InlineData(LedgerKind.ConsentRevoked, LedgerOutcome.Version, "consent-revoked", "version 1")]
    public void ComputeHash_EveryKindAndOutcome_HashesTheTextItWasAlwaysStoredAs(LedgerKind kind, LedgerOutcome outcome, string kindText, string outcomeText)
    {
        var digest = kind == LedgerKind.Conflict ? Enumerable.Range(0, 32).Select(i => (byte)i).ToArray() : null;
        var entry = Entry() with
        {
            Seq = 7, Kind = kind, Outcome = outcome, ConsentVersion = outcome == LedgerOutcome.Version ? 1 : null, Digest = digest,
            At = DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
        };
        var prev = new byte[32];
        var stored = string.Join('\u001f',
            "7", entry.MessageId.ToString("N"), kindText, outcomeText, entry.SendingUnit, entry.ReceivingUnit, entry.ActingSystem,
            entry.ActingUser, entry.SubjectPseudonym, entry.Purpose, string.Join(',', entry.Categories), entry.Basis ?? "", "",
            string.Join('\u001e', entry.Reasons), "0", entry.At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture))
            + (digest is null ? "" : '\u001f' + Convert.ToHexStringLower(digest));

        (entry.KindText, entry.OutcomeText).ShouldBe((kindText, outcomeText));
        entry.ComputeHash(prev).ShouldBe(SHA256.HashData([.. prev, .. Encoding.UTF8.GetBytes(stored)]));
        LedgerText.KindOf(kindText, digest).ShouldBe(kind);
        LedgerText.OutcomeOf(outcomeText).ShouldBe((outcome, entry.ConsentVersion));
    }

    [Theory]
    [InlineData("Decision")]
    [InlineData("decided")]
    [InlineData("conflict:00")]
    public void KindOf_ATextTheLedgerNeverWrites_IsNull(string text) =>
        LedgerText.KindOf(text, digest: [0x01]).ShouldBeNull();

    [Theory]
    [InlineData("Permitted")]
    [InlineData("version 012")]
    [InlineData("version -1")]
    [InlineData("version ")]
    public void OutcomeOf_ATextTheLedgerNeverWrites_IsNull(string text) =>
        LedgerText.OutcomeOf(text).ShouldBeNull();

    /// <summary>
    /// A delivery, withdrawal or acknowledgement is recorded only as the gate's permit has the message: the publisher's name
    /// is the broker's word, the rest of an event is not, so an event naming other units is no step of this message.
    /// </summary>
    [Theory]
    [InlineData("no decision")]
    [InlineData("refused")]
    [InlineData("another receiving unit")]
    [InlineData("another sending unit")]
    [InlineData("another subject")]
    [InlineData("another purpose")]
    public async Task Append_ALifecycleEntryThePermitDoesNotCover_IsRefusedAndNothingIsWritten(string difference)
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        var id = Guid.CreateVersion7();
        if (difference != "no decision")
        {
            await writer.AppendAsync(Entry(id, difference == "refused" ? LedgerOutcome.Refused : LedgerOutcome.Permitted), Ct);
        }

        var acknowledgement = Entry(id) with { Kind = LedgerKind.Acknowledgement, Outcome = LedgerOutcome.Acknowledged, ActingSystem = "forged-system" };
        acknowledgement = difference switch
        {
            "another receiving unit" => acknowledgement with { ReceivingUnit = "rosengard-oppna-forskolan" },
            "another sending unit" => acknowledgement with { SendingUnit = "rosengard-mvc" },
            "another subject" => acknowledgement with { SubjectPseudonym = "p-ffffffffffffffffffffffff" },
            "another purpose" => acknowledgement with { Purpose = "BirthHandover" },
            _ => acknowledgement,
        };

        await Should.ThrowAsync<UnpermittedLifecycleException>(() => writer.AppendAsync(acknowledgement, Ct));

        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE kind = 'acknowledgement'")).ShouldBe(0);
        // The true one afterwards is taken: the refusal left nothing in its place.
        if (difference != "no decision" && difference != "refused")
        {
            var truthful = Entry(id) with { Kind = LedgerKind.Acknowledgement, Outcome = LedgerOutcome.Acknowledged, ActingSystem = "socialtjanst-system" };
            (await writer.AppendAsync(truthful, Ct)).ActingSystem.ShouldBe("socialtjanst-system");
        }

        await writer.StopAsync(Ct);
    }

    /// <summary>
    /// A forged acknowledgement that reaches the writer in the same batch as the receiver's true one, and ahead of it, must
    /// not take its place: the forger would otherwise keep the true step out of the ledger for good.
    /// </summary>
    [Fact]
    public async Task Append_AForgedLifecycleEntryAheadOfTheTrueOneInOneBatch_LeavesTheTrueOneRecorded()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        var id = Guid.CreateVersion7();
        await writer.AppendAsync(Entry(id), Ct);

        // Hold the chain lock so that the writer blocks on a first entry while the two queue up behind it as one batch.
        await connection.ExecuteAsync("SELECT pg_advisory_lock(7349120002)");
        var blocker = writer.AppendAsync(Entry(), Ct);
        await Task.Delay(200, Ct);
        var acknowledgement = Entry(id) with { Kind = LedgerKind.Acknowledgement, Outcome = LedgerOutcome.Acknowledged };
        var forged = writer.AppendAsync(acknowledgement with { ReceivingUnit = "rosengard-oppna-forskolan", ActingSystem = "forged-system" }, Ct);
        var truthful = writer.AppendAsync(acknowledgement with { ActingSystem = "socialtjanst-system" }, Ct);
        await connection.ExecuteAsync("SELECT pg_advisory_unlock(7349120002)");
        await blocker;

        await Should.ThrowAsync<UnpermittedLifecycleException>(() => forged);
        (await truthful).ActingSystem.ShouldBe("socialtjanst-system");
        (await connection.QuerySingleAsync<string>("SELECT acting_system FROM ledger WHERE kind = 'acknowledgement'")).ShouldBe("socialtjanst-system");
        await writer.StopAsync(Ct);
    }

    /// <summary>A refused entry batched with others by chance takes none of them with it.</summary>
    [Fact]
    public async Task Append_AnUnpermittedEntryAmongOthers_FailsAlone()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        var ids = Enumerable.Range(0, 50).Select(_ => Guid.CreateVersion7()).ToList();
        await Task.WhenAll(ids.Select(id => writer.AppendAsync(Entry(id), Ct)));

        var appends = ids.Select(id => writer.AppendAsync(Entry(id) with { Kind = LedgerKind.Delivery, Outcome = LedgerOutcome.Delivered }, Ct))
            .Append(writer.AppendAsync(Entry() with { Kind = LedgerKind.Delivery, Outcome = LedgerOutcome.Delivered }, Ct))
            .ToList();
        await Should.ThrowAsync<UnpermittedLifecycleException>(() => appends[^1]);

        (await Task.WhenAll(appends.Take(ids.Count))).Length.ShouldBe(ids.Count);
        (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger WHERE kind = 'delivery'")).ShouldBe(ids.Count);
        var verification = await new DecisionLedger().VerifyAsync(connection, Ct);
        verification.Intact.ShouldBeTrue(verification.Problem);
        await writer.StopAsync(Ct);
    }

    /// <summary>Kinds, outcomes and consent versions come back from the database as they went in.</summary>
    [Fact]
    public async Task Append_EntriesOfEveryKind_ReadBackAndVerify()
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        var id = Guid.CreateVersion7();
        LedgerEntry[] entries =
        [
            Entry(id, LedgerOutcome.Permitted),
            Entry(id) with { Kind = LedgerKind.Conflict, Outcome = LedgerOutcome.Conflict, Digest = SHA256.HashData([1]) },
            Entry(id) with { Kind = LedgerKind.Conflict, Outcome = LedgerOutcome.Conflict, Digest = SHA256.HashData([2]) },
            Entry(id) with { Kind = LedgerKind.Delivery, Outcome = LedgerOutcome.Delivered },
            Entry() with { Kind = LedgerKind.ConsentNarrowed, Outcome = LedgerOutcome.Version, ConsentVersion = 3 },
        ];
        foreach (var entry in entries)
        {
            await writer.AppendAsync(entry, Ct);
        }

        var texts = (await connection.QueryAsync<(string Kind, string Outcome)>("SELECT kind, outcome FROM ledger ORDER BY seq")).ToList();
        texts.ShouldBe(entries.Select(e => (e.KindText, e.OutcomeText)).ToList());
        texts[4].ShouldBe(("consent-narrowed", "version 3"));
        (await new DecisionLedger().FindAsync(connection, id, LedgerKind.Decision))!.Outcome.ShouldBe(LedgerOutcome.Permitted);
        (await new DecisionLedger().FindAsync(connection, id, LedgerKind.Delivery))!.Outcome.ShouldBe(LedgerOutcome.Delivered);
        var verification = await new DecisionLedger().VerifyAsync(connection, Ct);
        verification.Intact.ShouldBeTrue(verification.Problem);
        verification.EntriesChecked.ShouldBe(5);
        await writer.StopAsync(Ct);
    }

    [Theory]
    [InlineData("UPDATE ledger SET outcome = 'permitted'")]
    [InlineData("DELETE FROM ledger")]
    public async Task Ledger_UpdateOrDelete_IsRefusedByTheDatabase(string statement)
    {
        await using var db = await postgres.NewDatabaseAsync();
        var (writer, connection) = await StartAsync(db);
        await writer.AppendAsync(Entry(outcome: LedgerOutcome.Refused), Ct);

        var error = await Should.ThrowAsync<PostgresException>(() => connection.ExecuteAsync(statement));

        error.MessageText.ShouldContain("append-only");
        await writer.StopAsync(Ct);
    }
}
