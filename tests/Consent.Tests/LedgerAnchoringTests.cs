using System.Security.Cryptography;
using Dapper;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Consent.Features.Ledger.Anchoring;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>
/// The ledger anchored outside the database (issue 11, item 5), against a real PostgreSQL. The attacker has the database
/// as its superuser (switches the append-only trigger off, deletes, edits, recomputes every hash) and may write the
/// checkpoint file, but not the gate's private key. <c>verify-ledger</c> runs as an operator would, with the public key
/// and the checkpoint file only.
/// </summary>
public sealed class LedgerAnchoringTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("ledger-anchoring-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static LedgerEntry Entry(int i) => new()
    {
        MessageId = Guid.CreateVersion7(),
        Kind = LedgerKind.Decision,
        Outcome = i % 3 == 0 ? LedgerOutcome.Refused : LedgerOutcome.Permitted,
        SendingUnit = "rosengard-bvc",
        ReceivingUnit = "rosengard-socialtjanst",
        ActingSystem = "bvc-ehr",
        ActingUser = "SE2321000016-BVC1",
        SubjectPseudonym = "p-0123456789abcdef01234567",
        Purpose = "Referral",
        Categories = ["FamilySituation"],
        Basis = i % 3 == 0 ? null : "consent",
        Reasons = i % 3 == 0 ? ["no consent covers Referral"] : [],
        At = DateTimeOffset.UtcNow,
    };

    private sealed record Ledger(NpgsqlDataSource Db, string ConnectionString, LedgerWriter Writer, LedgerCheckpointer Checkpointer, LedgerAnchorOptions Options);

    private (string Private, string Public) NewKey(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (privatePath, publicPath) = (Path.Combine(folder, name + ".key"), Path.Combine(folder, name + ".pub.pem"));
        File.WriteAllText(privatePath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
        return (privatePath, publicPath);
    }

    /// <summary>55 entries, checkpointed at seq 30 and seq 50; the last five not yet anchored.</summary>
    private async Task<Ledger> AnchoredLedgerAsync()
    {
        var (db, connectionString) = await postgres.NewDatabaseWithConnectionStringAsync();
        var (signing, _) = NewKey("gate");
        var options = new LedgerAnchorOptions { SigningKeyPath = signing, CheckpointDirectory = Path.Combine(folder, "checkpoints") };
        Directory.CreateDirectory(options.CheckpointDirectory);
        var writer = new LedgerWriter(db);
        await writer.StartAsync(Ct);
        var checkpointer = new LedgerCheckpointer(db, Options.Create(options), NullLogger<LedgerCheckpointer>.Instance, TimeProvider.System);
        var ledger = new Ledger(db, connectionString, writer, checkpointer, options);
        await AppendAsync(ledger, 0, 30);
        (await checkpointer.CheckpointAsync(Ct)).ShouldNotBeNull().Seq.ShouldBe(30);
        await AppendAsync(ledger, 30, 20);
        (await checkpointer.CheckpointAsync(Ct)).ShouldNotBeNull().Seq.ShouldBe(50);
        await AppendAsync(ledger, 50, 5);
        return ledger;
    }

    private static async Task AppendAsync(Ledger ledger, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            await ledger.Writer.AppendAsync(Entry(i), Ct);
        }
    }

    /// <summary>verify-ledger as an operator runs it: the database, the checkpoint directory and the public key(s), no private key.</summary>
    private async Task<(int ExitCode, string Output)> VerifyLedgerAsync(Ledger ledger, params string[] publicKeys)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Database"] = ledger.ConnectionString,
            ["Ledger:CheckpointDirectory"] = ledger.Options.CheckpointDirectory,
        };
        var keys = publicKeys.Length > 0 ? publicKeys : [Path.ChangeExtension(ledger.Options.SigningKeyPath!, ".pub.pem")];
        for (var i = 0; i < keys.Length; i++)
        {
            settings[$"Ledger:VerificationKeyPaths:{i}"] = keys[i];
        }

        using var output = new StringWriter();
        var exitCode = await LedgerCommand.VerifyAsync(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), output);
        TestContext.Current.TestOutputHelper?.WriteLine($"verify-ledger exit {exitCode}:\n{output}");
        return (exitCode, output.ToString());
    }

    private static async Task TamperAsync(Ledger ledger, string sql)
    {
        await using var connection = await ledger.Db.OpenConnectionAsync(Ct);
        await connection.ExecuteAsync($"ALTER TABLE ledger DISABLE TRIGGER ledger_append_only; {sql}; ALTER TABLE ledger ENABLE TRIGGER ledger_append_only;");
    }

    private static string CheckpointPath(Ledger ledger) => ledger.Options.CheckpointPath;

    private static async Task StopAsync(Ledger ledger)
    {
        await ledger.Writer.StopAsync(Ct);
        await ledger.Db.DisposeAsync();
    }

    [Theory]
    [InlineData("Host=db;Database=consent;Username=auditor", 262144)]
    [InlineData("Host=db;Database=consent;Username=auditor;Read Buffer Size=8192", 8192)]
    [InlineData("Host=db;Database=consent;Username=auditor;read buffer size=65536", 65536)]
    public void VerifyLedger_Connection_ReadsInLargeBuffersUnlessConfiguredOtherwise(string configured, int readBuffer)
    {
        var connection = new NpgsqlConnectionStringBuilder(LedgerCommand.ConnectionFor(configured));

        connection.ReadBufferSize.ShouldBe(readBuffer);
        connection.Host.ShouldBe("db");
        connection.Database.ShouldBe("consent");
        connection.Username.ShouldBe("auditor");
    }

    [Fact]
    public async Task VerifyLedger_UntouchedLedgerWithCheckpoints_PassesAndSaysWhatIsAnchored()
    {
        var ledger = await AnchoredLedgerAsync();

        var (exitCode, output) = await VerifyLedgerAsync(ledger);

        exitCode.ShouldBe(0, output);
        output.ShouldContain("2 signed checkpoint(s)");
        output.ShouldContain("newest seq 50");
        output.ShouldContain("5 entries after it not yet anchored");
        output.ShouldNotContain("p-0123456789abcdef", customMessage: "seq numbers, hashes and kinds only");
        output.ShouldNotContain("SE2321000016", customMessage: "seq numbers, hashes and kinds only");
        await StopAsync(ledger);
    }

    [Fact]
    public async Task VerifyLedger_NewestEntriesDeleted_NamesTheTruncation()
    {
        var ledger = await AnchoredLedgerAsync();
        await TamperAsync(ledger, "DELETE FROM ledger WHERE seq > 45");

        var (exitCode, output) = await VerifyLedgerAsync(ledger);

        exitCode.ShouldBe(3, output);
        output.ShouldContain("truncated");
        output.ShouldContain("anchors seq 50");
        output.ShouldContain("ledger ends at seq 45");
        output.ShouldNotContain("not yet anchored", customMessage: "nothing is unanchored in a ledger shorter than its checkpoints");
        await StopAsync(ledger);
    }

    /// <summary>
    /// The attack the chain alone cannot see: one entry changed (a refusal made a permit) and every later hash recomputed,
    /// so every link holds again. The checkpoint at seq 50 signed the old head; the one at seq 30 still holds.
    /// </summary>
    [Fact]
    public async Task VerifyLedger_RowEditedAndEveryLaterHashRecomputed_NamesTheRewrite()
    {
        var ledger = await AnchoredLedgerAsync();
        await using (var connection = await ledger.Db.OpenConnectionAsync(Ct))
        {
            var rows = (await connection.QueryAsync<LedgerRow>($"SELECT {DecisionLedger.Columns} FROM ledger ORDER BY seq")).ToList();
            var prevHash = rows[38].Hash;
            var rewritten = new List<LedgerEntry>();
            foreach (var row in rows.Skip(39))
            {
                var entry = row.RequireEntry() with { At = row.At.ToUniversalTime(), PrevHash = prevHash };
                if (entry.Seq == 40)
                {
                    entry.Outcome.ShouldBe(LedgerOutcome.Refused);
                    entry = entry with { Outcome = LedgerOutcome.Permitted, Basis = "consent", Reasons = [] };
                }

                entry = entry with { Hash = entry.ComputeHash(prevHash) };
                prevHash = entry.Hash;
                rewritten.Add(entry);
            }

            await connection.ExecuteAsync("ALTER TABLE ledger DISABLE TRIGGER ledger_append_only");
            foreach (var e in rewritten)
            {
                await connection.ExecuteAsync(
                    "UPDATE ledger SET outcome = @Outcome, basis = @Basis, reasons = @Reasons, prev_hash = @PrevHash, hash = @Hash WHERE seq = @Seq",
                    new { Outcome = e.OutcomeText, e.Basis, e.Reasons, e.PrevHash, e.Hash, e.Seq });
            }

            await connection.ExecuteAsync("ALTER TABLE ledger ENABLE TRIGGER ledger_append_only");
            var chainAlone = await new DecisionLedger().VerifyAsync(connection, Ct);
            chainAlone.Intact.ShouldBeTrue("the rewrite is consistent: the chain alone cannot see it");
        }

        var (exitCode, output) = await VerifyLedgerAsync(ledger);

        exitCode.ShouldBe(4, output);
        output.ShouldContain("rewritten");
        output.ShouldContain("at seq 50");
        output.ShouldContain("rewritten after seq 30");
        output.ShouldNotContain("p-0123456789abcdef", customMessage: "seq numbers, hashes and kinds only");
        await StopAsync(ledger);
    }

    [Fact]
    public async Task VerifyLedger_RowEditedWithoutRecomputing_NamesTheBrokenLink()
    {
        var ledger = await AnchoredLedgerAsync();
        await TamperAsync(ledger, "UPDATE ledger SET outcome = 'permitted' WHERE seq = 10");

        var (exitCode, output) = await VerifyLedgerAsync(ledger);

        exitCode.ShouldBe(2, output);
        output.ShouldContain("entry 10");
        await StopAsync(ledger);
    }

    /// <summary>An attacker who can write the file adds a checkpoint of its own: with its own key (and kid), or under the gate's kid.</summary>
    [Theory]
    [InlineData(false, "unknown key (kid ")]
    [InlineData(true, "signature that does not verify")]
    public async Task VerifyLedger_CheckpointForgedWithAnotherKey_NamesTheForgery(bool underTheGatesKid, string named)
    {
        var ledger = await AnchoredLedgerAsync();
        var (attackerKey, _) = NewKey("attacker");
        var forger = CheckpointKeys.LoadPrivate(attackerKey);
        if (underTheGatesKid)
        {
            forger.KeyId = CheckpointKeys.LoadPrivate(ledger.Options.SigningKeyPath!).KeyId;
        }

        await using (var connection = await ledger.Db.OpenConnectionAsync(Ct))
        {
            var head = await connection.QuerySingleAsync<byte[]>("SELECT hash FROM ledger WHERE seq = 55");
            CheckpointFile.Append(CheckpointPath(ledger), CheckpointSignatures.Sign(55, head, 55, DateTimeOffset.UtcNow, forger));
        }

        var (exitCode, output) = await VerifyLedgerAsync(ledger);

        exitCode.ShouldBe(5, output);
        output.ShouldContain("checkpoint line 3");
        output.ShouldContain(named);
        await StopAsync(ledger);
    }

    /// <summary>A checkpoint's plain fields are for readers; the signed ones are what counts, and the two must agree.</summary>
    [Fact]
    public async Task VerifyLedger_CheckpointLineEditedOutsideItsSignature_IsABadCheckpoint()
    {
        var ledger = await AnchoredLedgerAsync();
        var lines = File.ReadAllLines(CheckpointPath(ledger));
        File.WriteAllLines(CheckpointPath(ledger), [lines[0], lines[1].Replace("\"seq\":50", "\"seq\":45", StringComparison.Ordinal)]);

        var (exitCode, output) = await VerifyLedgerAsync(ledger);

        exitCode.ShouldBe(5, output);
        output.ShouldContain("checkpoint line 2 says otherwise than its signature");
        await StopAsync(ledger);
    }

    /// <summary>A key rotates: checkpoints under the old key still verify while its public key stays configured.</summary>
    [Fact]
    public async Task VerifyLedger_CheckpointsUnderTwoKeys_PassWithBothPublicKeysConfigured()
    {
        var ledger = await AnchoredLedgerAsync();
        var (next, nextPublic) = NewKey("gate-next");
        var after = new LedgerCheckpointer(ledger.Db, Options.Create(new LedgerAnchorOptions
        {
            SigningKeyPath = next, VerificationKeyPaths = [Path.ChangeExtension(ledger.Options.SigningKeyPath!, ".pub.pem")],
            CheckpointDirectory = ledger.Options.CheckpointDirectory,
        }), NullLogger<LedgerCheckpointer>.Instance, TimeProvider.System);
        (await after.CheckpointAsync(Ct)).ShouldNotBeNull().Seq.ShouldBe(55);

        var both = await VerifyLedgerAsync(ledger, Path.ChangeExtension(ledger.Options.SigningKeyPath!, ".pub.pem"), nextPublic);
        var newOnly = await VerifyLedgerAsync(ledger, nextPublic);

        both.ExitCode.ShouldBe(0, both.Output);
        both.Output.ShouldContain("3 signed checkpoint(s)");
        newOnly.ExitCode.ShouldBe(5, newOnly.Output);
        newOnly.Output.ShouldContain("unknown key");
        await StopAsync(ledger);
    }

    [Fact]
    public async Task Checkpoint_HeadNotMoved_WritesNothing()
    {
        var ledger = await AnchoredLedgerAsync();
        (await ledger.Checkpointer.CheckpointAsync(Ct)).ShouldNotBeNull().Seq.ShouldBe(55);

        (await ledger.Checkpointer.CheckpointAsync(Ct)).ShouldBeNull();

        File.ReadAllLines(CheckpointPath(ledger)).Length.ShouldBe(3);
        await StopAsync(ledger);
    }

    /// <summary>The gate never anchors a chain that no longer holds the head it signed last.</summary>
    [Fact]
    public async Task Checkpoint_AfterTheNewestEntriesWereCutOffAndReplaced_RefusesToSign()
    {
        var ledger = await AnchoredLedgerAsync();
        await TamperAsync(ledger, "DELETE FROM ledger WHERE seq > 45");
        await AppendAsync(ledger, 45, 10);

        (await ledger.Checkpointer.CheckpointAsync(Ct)).ShouldBeNull();

        File.ReadAllLines(CheckpointPath(ledger)).Length.ShouldBe(2);
        var (exitCode, output) = await VerifyLedgerAsync(ledger);
        exitCode.ShouldBe(4, output);
        await StopAsync(ledger);
    }

    /// <summary>A crash mid-write leaves a torn last line: the verifier ignores and reports it, the next append cuts it off.</summary>
    [Fact]
    public async Task TornLastLine_IsIgnoredAndReportedByTheVerifier_AndCutOffByTheNextCheckpoint()
    {
        var ledger = await AnchoredLedgerAsync();
        var whole = File.ReadAllLines(CheckpointPath(ledger));
        await File.AppendAllTextAsync(CheckpointPath(ledger), whole[1][..(whole[1].Length / 2)], Ct);

        var (exitCode, output) = await VerifyLedgerAsync(ledger);
        exitCode.ShouldBe(0, output);
        output.ShouldContain("last line 3 is torn");

        (await ledger.Checkpointer.CheckpointAsync(Ct)).ShouldNotBeNull().Seq.ShouldBe(55);
        var lines = File.ReadAllLines(CheckpointPath(ledger));
        lines.Length.ShouldBe(3);
        lines[..2].ShouldBe(whole);
        (await VerifyLedgerAsync(ledger)).ExitCode.ShouldBe(0);
        await StopAsync(ledger);
    }
}
