using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Consent.Features.Ledger.Anchoring;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using NpgsqlTypes;

namespace FamiljecentralHub.LocalHub.Bench;

public sealed record LedgerBenchOptions(long Entries, int Subjects, int Lookups, int Runs, int Seed);

/// <summary>One timed verification: the figures of this process and of the PostgreSQL backend that served it.</summary>
public sealed record VerificationRun(
    long Entries, TimeSpan Elapsed, long PeakRss, long PeakGcHeap, long Allocated, int Gen0, int Gen1, int Gen2,
    TimeSpan Cpu, long? PostgresPeakRss, TimeSpan? PostgresCpu, AnchoredVerification Result)
{
    public double PerSecond => Entries / Elapsed.TotalSeconds;
}

/// <summary>
/// Issue 16's ledger benchmark: a scratch PostgreSQL with the consent service's schema applied by its own migrations, a
/// valid chain of N generated entries written by binary COPY, then the verification <c>verify-ledger</c> runs
/// (<see cref="LedgerAnchors.VerifyAsync"/>, against a signed checkpoint at the head) timed with its memory; one entry in
/// the middle altered, and the verification must name it; then the family's log extract (<see cref="LogExtracts"/>, the
/// issue 14 query) for random subjects. Only seq numbers, counts and times are printed: the entries name nobody anyway.
/// </summary>
internal sealed class LedgerBenchmark(TextWriter output)
{
    public async Task<int> RunAsync(LedgerBenchOptions options, CancellationToken cancellationToken)
    {
        await using var postgres = await ScratchPostgres.StartAsync("bench-ledger", cancellationToken);
        var connectionString = await postgres.NewEmptyDatabaseAsync(cancellationToken);
        await using var db = NpgsqlDataSource.Create(connectionString);
        await SchemaMigrations.ApplyAsync(db, typeof(DecisionLedger).Assembly, NullLoggerFactory.Instance, cancellationToken);
        // The connection verify-ledger makes of its configured one; for experiments with its settings, e.g.
        // HUB_BENCH_LEDGER_CONNECTION="Read Buffer Size=8192" (Npgsql's default), which is then as if configured.
        await using var verifyDb = NpgsqlDataSource.Create(LedgerCommand.ConnectionFor(
            new NpgsqlConnectionStringBuilder(connectionString + ";" + Environment.GetEnvironmentVariable("HUB_BENCH_LEDGER_CONNECTION")).ConnectionString));
        output.WriteLine($"Schema applied by the consent service's migrations; generating {options.Entries:N0} entries over {options.Subjects:N0} subjects ...");

        var generator = new LedgerChainGenerator(options.Entries, options.Subjects, options.Seed);
        var load = Stopwatch.StartNew();
        var head = await LoadAsync(db, generator, cancellationToken);
        var loaded = load.Elapsed;
        output.WriteLine($"Written and indexed in {loaded.TotalSeconds:0} s; table and indexes {await SizeAsync(db, cancellationToken)}.");

        // A checkpoint at the head, signed as the checkpointer signs: the verification then does all it does in service.
        var folder = Directory.CreateTempSubdirectory("bench-ledger-");
        try
        {
            using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var key = new ECDsaSecurityKey(ecdsa) { KeyId = CheckpointKeys.KidOf(ecdsa) };
            var checkpointPath = Path.Combine(folder.FullName, "checkpoints.jsonl");
            CheckpointFile.Append(checkpointPath, CheckpointSignatures.Sign(head.Seq, head.Hash, head.Seq, DateTimeOffset.UtcNow, key));
            var keys = new Dictionary<string, ECDsaSecurityKey> { [key.KeyId] = key };

            var runs = new List<VerificationRun>();
            for (var i = 0; i < options.Runs; i++)
            {
                var run = await VerifyAsync(verifyDb, checkpointPath, keys, cancellationToken);
                runs.Add(run);
                output.WriteLine($"Verification {i + 1}: {Describe(run)}");
                if (!run.Result.Intact || run.Result.Chain.EntriesChecked != options.Entries)
                {
                    output.WriteLine("The generated chain did not verify: the benchmark measured nothing.");
                    return 1;
                }
            }

            var middle = options.Entries / 2;
            await using (var connection = await db.OpenConnectionAsync(cancellationToken))
            {
                // Only the table's owner can switch off the append-only trigger; the scratch database's superuser is that.
                await connection.ExecuteAsync(
                    """
                    ALTER TABLE ledger DISABLE TRIGGER ledger_append_only;
                    UPDATE ledger SET receiving_unit = receiving_unit || '-x' WHERE seq = @middle;
                    ALTER TABLE ledger ENABLE TRIGGER ledger_append_only;
                    """,
                    new { middle });
            }

            var tampered = await VerifyAsync(verifyDb, checkpointPath, keys, cancellationToken);
            output.WriteLine($"After altering receiving_unit of entry {middle}: {Describe(tampered)}");
            var named = tampered.Result.Chain.FirstBrokenSeq == middle && tampered.Result.Findings.Any(f => f.Finding == LedgerFinding.EditedRow);
            output.WriteLine(named ? $"  the verification names entry {middle}, as it must" : $"  WRONG: the verification did not name entry {middle}");

            var lookups = await LookUpAsync(db, generator.Pseudonyms, options, cancellationToken);
            output.WriteLine();
            var table = Table(options, loaded, runs, tampered, middle, lookups);
            output.WriteLine(table);
            Figures = table;
            return named ? 0 : 1;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The figures as a Markdown table, once the run is done.</summary>
    public string Figures { get; private set; } = "";

    private static async Task<(long Seq, byte[] Hash)> LoadAsync(NpgsqlDataSource db, LedgerChainGenerator generator, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        // The migrations' indexes and keys are set aside while loading and made again from their own definitions after:
        // bulk loading into a table with its indexes is slower by minutes, and the result is the same table.
        var constraints = (await connection.QueryAsync<(string Name, string Definition)>(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'ledger'::regclass AND contype IN ('p', 'u')")).ToList();
        var indexes = (await connection.QueryAsync<string>(
            """
            SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
            WHERE i.indrelid = 'ledger'::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """)).ToList();
        foreach (var (name, _) in constraints)
        {
            await connection.ExecuteAsync($"ALTER TABLE ledger DROP CONSTRAINT \"{name}\"");
        }

        foreach (var name in await connection.QueryAsync<string>(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'ledger'::regclass"))
        {
            await connection.ExecuteAsync($"DROP INDEX \"{name}\"");
        }

        (long, byte[]) head = (0, new byte[32]);
        await using (var copy = await connection.BeginBinaryImportAsync(
            """
            COPY ledger (seq, message_id, kind, outcome, sending_unit, receiving_unit, acting_system, acting_user, subject_pseudonym,
                         purpose, categories, basis, consent_id, reasons, review, at, prev_hash, hash, digest) FROM STDIN (FORMAT BINARY)
            """,
            cancellationToken))
        {
            while (generator.Next() is { } e)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(e.Seq, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(e.MessageId, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(e.KindText, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.OutcomeText, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.SendingUnit, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.ReceivingUnit, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.ActingSystem, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, e.ActingUser, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.SubjectPseudonym, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.Purpose, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.Categories, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, e.Basis, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(copy, e.ConsentId, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(e.Reasons, NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(e.Review, NpgsqlDbType.Boolean, cancellationToken);
                await copy.WriteAsync(e.At.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(e.PrevHash, NpgsqlDbType.Bytea, cancellationToken);
                await copy.WriteAsync(e.Hash, NpgsqlDbType.Bytea, cancellationToken);
                await WriteNullableAsync(copy, e.Digest, NpgsqlDbType.Bytea, cancellationToken);
                head = (e.Seq, e.Hash);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await connection.ExecuteAsync("SET maintenance_work_mem = '512MB'");
        foreach (var (name, definition) in constraints)
        {
            await connection.ExecuteAsync(new CommandDefinition($"ALTER TABLE ledger ADD CONSTRAINT \"{name}\" {definition}", commandTimeout: 3600, cancellationToken: cancellationToken));
        }

        foreach (var definition in indexes)
        {
            await connection.ExecuteAsync(new CommandDefinition(definition, commandTimeout: 3600, cancellationToken: cancellationToken));
        }

        await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE ledger", commandTimeout: 3600, cancellationToken: cancellationToken));
        return head;
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, type, cancellationToken);

    private static Task WriteNullableAsync(NpgsqlBinaryImporter copy, Guid? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is { } v ? copy.WriteAsync(v, type, cancellationToken) : copy.WriteNullAsync(cancellationToken);

    private static async Task<string> SizeAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string>(
            "SELECT pg_size_pretty(pg_table_size('ledger')) || ' + ' || pg_size_pretty(pg_indexes_size('ledger'))") ?? "";
    }

    /// <summary>The verification <c>verify-ledger</c> runs, timed, with this process's and its PostgreSQL backend's memory and CPU.</summary>
    private static async Task<VerificationRun> VerifyAsync(
        NpgsqlDataSource db, string checkpointPath, IReadOnlyDictionary<string, ECDsaSecurityKey> keys, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var backend = await connection.ExecuteScalarAsync<int>("SELECT pg_backend_pid()");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        ProcMemory.ResetPeak(Environment.ProcessId);
        var backendReset = ProcMemory.ResetPeak(backend);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var backendCpu = ProcessCpu.CpuTime(backend);

        long peakHeap = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
                try
                {
                    await Task.Delay(50, sampling.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }, CancellationToken.None);

        var started = Stopwatch.StartNew();
        var result = await LedgerAnchors.VerifyAsync(connection, checkpointPath, keys, cancellationToken);
        var elapsed = started.Elapsed;
        await sampling.CancelAsync();
        await sampler;
        peakHeap = Math.Max(peakHeap, GC.GetGCMemoryInfo().HeapSizeBytes);

        return new VerificationRun(
            result.Chain.EntriesChecked, elapsed, ProcMemory.PeakRss(Environment.ProcessId) ?? 0, peakHeap,
            GC.GetTotalAllocatedBytes(precise: true) - allocated,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2,
            Process.GetCurrentProcess().TotalProcessorTime - cpu,
            backendReset ? ProcMemory.PeakRss(backend) : null,
            ProcessCpu.CpuTime(backend) - backendCpu, result);
    }

    /// <summary>The family's log extract (issue 14) for random subjects, through <see cref="LogExtracts"/> itself.</summary>
    private static async Task<List<(double Ms, int Shown)>> LookUpAsync(
        NpgsqlDataSource db, IReadOnlyList<string> pseudonyms, LedgerBenchOptions options, CancellationToken cancellationToken)
    {
        var layout = RepositoryLayout.Locate();
        var registry = new OrganisationRegistry(Options.Create(new OrganisationOptions { Path = layout.OrganisationPath }));
        var bases = new LegalBasisCatalog(Options.Create(new LegalBasisOptions
        {
            Path = Path.Combine(layout.Root, "services", "Consent", "Features", "Gate", "legal-bases.json"),
        }));
        var extracts = new LogExtracts(db, registry, bases, Options.Create(new AccountabilityOptions()));
        // The region's staff asking for every unit: the widest extract, so the most rows per subject.
        string[] units = [.. registry.Document.Units.Select(u => u.Id)];
        var random = new Random(options.Seed + 1);
        var times = new List<(double, int)>();
        for (var i = 0; i < options.Lookups + 20; i++)
        {
            var subject = pseudonyms[random.Next(pseudonyms.Count)];
            var started = Stopwatch.GetTimestamp();
            var extract = await extracts.BuildAsync(Guid.NewGuid(), subject, units, ExtractRequester.Guardian, DateTimeOffset.UtcNow, cancellationToken);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (i >= 20)
            {
                times.Add((ms, extract.Entries.Count + extract.Withheld.Count)); // the first twenty warm the JIT and the pool
            }
        }

        return times;
    }

    private static string Describe(VerificationRun r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Entries:N0} entries in {r.Elapsed.TotalSeconds:0.0} s ({r.PerSecond:N0}/s), {(r.Result.Intact ? "intact" : string.Join("; ", r.Result.Findings.Select(f => $"{f.Finding}: {f.Detail}")))}");

    private static string Table(LedgerBenchOptions options, TimeSpan load, List<VerificationRun> runs, VerificationRun tampered, long middle, List<(double Ms, int Shown)> lookups)
    {
        var ms = lookups.Select(l => l.Ms).Order().ToList();
        double At(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
        static string Mb(long bytes) => (bytes / 1048576.0).ToString("0", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Ledger: {options.Entries:N0} entries over {options.Subjects:N0} subjects, generated and written by COPY in {load.TotalSeconds:0} s (indexes included).");
        text.AppendLine("| verification | seconds | entries/s | CPU s (bench) | CPU s (postgres backend) | peak RSS MB | peak GC heap MB | allocated MB | GCs 0/1/2 | postgres backend peak RSS MB |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var (r, i) in runs.Select((r, i) => (r, i + 1)).Append((tampered, 0)))
        {
            var name = i == 0 ? $"altered at {middle:N0}: stops there" : $"run {i}, intact";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {r.Elapsed.TotalSeconds:0.0} | {r.PerSecond:N0} | {r.Cpu.TotalSeconds:0.0} | {r.PostgresCpu?.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) ?? "n/a"} | {Mb(r.PeakRss)} | {Mb(r.PeakGcHeap)} | {Mb(r.Allocated)} | {r.Gen0}/{r.Gen1}/{r.Gen2} | {(r.PostgresPeakRss is { } p ? Mb(p) : "n/a")} |");
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Log extract by subject pseudonym (LogExtracts.BuildAsync, every unit), {ms.Count} random subjects, one at a time: p50 {At(0.50):0.00} ms, p95 {At(0.95):0.00} ms, p99 {At(0.99):0.00} ms, max {ms[^1]:0.00} ms; {lookups.Average(l => l.Shown):0.0} disclosures per extract on average.");
        return text.ToString();
    }
}

/// <summary>Peak resident memory of a process, from /proc (Linux); its CPU time is <see cref="ProcessCpu.CpuTime"/>.</summary>
internal static class ProcMemory
{
    /// <summary>Resets the process's peak RSS (VmHWM) to its current RSS (clear_refs, Linux 4.0+); false when not allowed.</summary>
    public static bool ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static long? PeakRss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
