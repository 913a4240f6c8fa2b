using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Dapper;
using FamiljecentralHub.Consent.Features.Ledger;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>One acting user (or system, where no user is recorded) who disclosed about more subjects than usual.</summary>
public sealed record BusyActor(string Actor, string Kind, int Subjects, int Disclosures);

/// <summary>A ledger entry drawn for the sample: enough to find it and check it; the subject only as its pseudonym.</summary>
public sealed record SampledEntry(
    long Seq, Guid MessageId, string Kind, string Outcome, DateTimeOffset At, string SendingUnit, string ReceivingUnit,
    string ActingSystem, string? ActingUser, string SubjectPseudonym, string Purpose, string? Basis, bool Review, string Hash);

public sealed record FollowUpReport(
    Guid RequestId,
    string Unit,
    DateTimeOffset From,
    DateTimeOffset To,
    IReadOnlyDictionary<string, int> PermittedByBasis,
    int Refused,
    int Flagged,
    int Received,
    IReadOnlyList<BusyActor> ManySubjects,
    int OutsideOfficeHours,
    IReadOnlyList<Guid> OutsideOfficeHoursMessages,
    long Seed,
    int Population,
    IReadOnlyList<SampledEntry> Sample);

/// <summary>
/// Log follow-up per unit and period (logguppföljning, HSLF-FS 2016:40 4 kap. 9 §; issue 14 item 3): counts of the unit's
/// disclosures by basis, its refusals and flagged decisions, what it received, unusual patterns, and a random sample of
/// the ledger entries of the unit and period. The draw is repeatable by anyone who holds the ledger: each entry's rank is
/// SHA-256 of the seed and the entry's own hash, and the sample is the lowest ranks, so the same seed over the same
/// ledger gives the same sample, whatever was appended outside the period since, and needs no particular random number
/// generator to be checked.
/// </summary>
public sealed class LogFollowUps(NpgsqlDataSource db, IOptions<AccountabilityOptions> options)
{
    private const int MaxListed = 200;

    /// <summary>The subject of a draw's ledger entry: it is about a unit and a period, not one person.</summary>
    public const string NoSubject = "(no subject)";

    public async Task<FollowUpReport> BuildAsync(
        Guid requestId, string unit, DateTimeOffset from, DateTimeOffset to, int sampleSize, long seed, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var entries = (await connection.QueryAsync<LedgerRow>(new CommandDefinition(
            $"""
            SELECT {DecisionLedger.Columns} FROM ledger
            WHERE at >= @from AND at < @to AND {DecisionLedger.OfUnit} AND kind <> @drawn
            ORDER BY seq
            """,
            // Earlier draws are left out of the population, so drawing again with the same seed finds the same sample.
            new { unit, from = from.UtcDateTime, to = to.UtcDateTime, drawn = LedgerText.Of(LedgerKind.SampleDrawn) }, cancellationToken: cancellationToken)))
            .Select(r => r.ToEntry()).OfType<LedgerEntry>().ToList();

        var decisions = entries.Where(e => e.Kind == LedgerKind.Decision).ToList();
        var disclosed = decisions.Where(e => e.SendingUnit == unit).ToList();
        var permitted = disclosed.Where(e => e.Outcome == LedgerOutcome.Permitted).ToList();
        var byBasis = permitted.GroupBy(e => e.Basis ?? "none").OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

        var o = options.Value;
        var busy = disclosed
            .GroupBy(e => e.ActingUser is { } user ? (Actor: user, Kind: "user") : (Actor: e.ActingSystem, Kind: "system"))
            .Select(g => new BusyActor(g.Key.Actor, g.Key.Kind, g.Select(e => e.SubjectPseudonym).Distinct(StringComparer.Ordinal).Count(), g.Count()))
            .Where(a => a.Subjects > o.ManySubjects)
            .OrderByDescending(a => a.Subjects).ThenBy(a => a.Actor, StringComparer.Ordinal)
            .ToList();

        var zone = TimeZoneInfo.FindSystemTimeZoneById(o.TimeZone);
        var outside = disclosed.Where(e => OutsideOfficeHours(e.At, zone, o)).ToList();

        return new FollowUpReport(
            requestId, unit, from, to, byBasis,
            disclosed.Count(e => e.Outcome == LedgerOutcome.Refused),
            disclosed.Count(e => e.Review),
            decisions.Count(e => e.ReceivingUnit == unit && e.Outcome == LedgerOutcome.Permitted),
            busy,
            outside.Count,
            [.. outside.Take(MaxListed).Select(e => e.MessageId)],
            seed,
            entries.Count,
            Draw(entries, seed, sampleSize));
    }

    /// <summary>The lowest <paramref name="size"/> ranks, the rank of an entry being the first 8 bytes of SHA-256(seed ‖ entry hash).</summary>
    internal static IReadOnlyList<SampledEntry> Draw(IReadOnlyList<LedgerEntry> population, long seed, int size)
    {
        var seedBytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(seedBytes, seed);
        return [.. population
            .Select(e => (Entry: e, Rank: BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData([.. seedBytes, .. e.Hash]))))
            .OrderBy(x => x.Rank).ThenBy(x => x.Entry.Seq)
            .Take(size)
            .OrderBy(x => x.Entry.Seq)
            .Select(x => new SampledEntry(
                x.Entry.Seq, x.Entry.MessageId, x.Entry.KindText, x.Entry.OutcomeText, x.Entry.At, x.Entry.SendingUnit, x.Entry.ReceivingUnit,
                x.Entry.ActingSystem, x.Entry.ActingUser, x.Entry.SubjectPseudonym, x.Entry.Purpose, x.Entry.Basis, x.Entry.Review,
                Convert.ToHexStringLower(x.Entry.Hash)))];
    }

    internal static bool OutsideOfficeHours(DateTimeOffset at, TimeZoneInfo zone, AccountabilityOptions o)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday || local.Hour < o.OfficeHoursStart || local.Hour >= o.OfficeHoursEnd;
    }

    /// <summary>The draw in the ledger: seed, period, unit and which entries, so an auditor can repeat it and see it was not redrawn until it suited.</summary>
    public static LedgerEntry EntryFor(FollowUpReport report, string actingSystem, string requestedBy, DateTimeOffset now) => new()
    {
        MessageId = report.RequestId,
        Kind = LedgerKind.SampleDrawn,
        Outcome = LedgerOutcome.Recorded,
        SendingUnit = report.Unit,
        // Never empty: every ledger field becomes a FHIR value in the AuditEvent export, where an empty string is invalid.
        ReceivingUnit = report.Unit,
        ActingSystem = actingSystem,
        ActingUser = requestedBy,
        SubjectPseudonym = NoSubject,
        Purpose = "log-follow-up",
        Categories = [],
        Reasons =
        [
            string.Create(CultureInfo.InvariantCulture, $"seed {report.Seed}"),
            string.Create(CultureInfo.InvariantCulture, $"period {report.From.UtcDateTime:yyyy-MM-ddTHH:mm:ss}Z to {report.To.UtcDateTime:yyyy-MM-ddTHH:mm:ss}Z"),
            string.Create(CultureInfo.InvariantCulture, $"sample {report.Sample.Count} of {report.Population} entries"),
            "sampled seqs " + string.Join(',', report.Sample.Select(s => s.Seq.ToString(CultureInfo.InvariantCulture))),
        ],
        At = now,
    };
}
