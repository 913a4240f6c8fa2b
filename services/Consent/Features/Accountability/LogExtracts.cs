using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Accountability;

public sealed record ExtractUnit(string Id, string Name, string Principal);

/// <summary>
/// One disclosure in the family's extract: when, from which unit to which, why, what, on what basis, by which system, and
/// what became of it. The acting user is left out, as the national access-log services leave it out (domain.md section 7).
/// </summary>
/// <param name="Fetched">True once the receiver acknowledged it (which it does after fetching); null when the ledger cannot say (a fetch without acknowledgement is recorded only in the receiving service's inbox).</param>
public sealed record ExtractEntry(
    Guid MessageId,
    DateTimeOffset At,
    ExtractUnit From,
    ExtractUnit To,
    string Purpose,
    IReadOnlyList<string> Categories,
    string Basis,
    Guid? ConsentId,
    int? ConsentVersion,
    string ActingSystem,
    DateTimeOffset? DeliveredAt,
    bool? Fetched,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? WithdrawnAt);

/// <summary>
/// A disclosure the extract does not show, with the rule cited, for the staff who handle the request: they may release
/// it after their own assessment. Never in the printable document.
/// </summary>
/// <param name="Rule"><c>reporter</c> (the report would reveal its reporter) or <c>harm</c> (it may harm the child).</param>
public sealed record WithheldEntry(Guid MessageId, DateTimeOffset At, string SendingUnit, string ReceivingUnit, string Rule, string Citation);

/// <summary>The extract as the staff receive it (JSON); <see cref="ExtractDocument"/> renders what the family gets.</summary>
public sealed record LogExtract(
    Guid RequestId,
    DateTimeOffset CreatedAt,
    ExtractRequester Requester,
    IReadOnlyList<string> Units,
    IReadOnlyList<ExtractEntry> Entries,
    IReadOnlyList<WithheldEntry> Withheld,
    IReadOnlyList<string> Rules);

/// <summary>
/// Builds the family's log extract from the ledger (issue 14 item 1; domain.md section 7): for one subject, every
/// disclosure the gate permitted where one of the caller's units sent or received, since the data controller answers for
/// its own disclosures and no other. What would reveal a reporter or harm the child is withheld, the rule cited.
/// </summary>
public sealed class LogExtracts(NpgsqlDataSource db, OrganisationRegistry registry, LegalBasisCatalog bases, IOptions<AccountabilityOptions> options)
{
    public const string ReporterRule = "reporter";
    public const string HarmRule = "harm";

    private static readonly string[] Kinds =
        [LedgerText.Of(LedgerKind.Decision), LedgerText.Of(LedgerKind.Delivery), LedgerText.Of(LedgerKind.Acknowledgement), LedgerText.Of(LedgerKind.Withdrawal)];

    public async Task<LogExtract> BuildAsync(
        Guid requestId, string pseudonym, IReadOnlyList<string> units, ExtractRequester requester, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<LedgerRow>(new CommandDefinition(
            $"""
            SELECT {DecisionLedger.Columns} FROM ledger
            WHERE subject_pseudonym = @pseudonym AND kind = ANY(@kinds)
              AND (sending_unit = ANY(@units) OR receiving_unit = ANY(@units))
            ORDER BY seq
            """,
            new { pseudonym, kinds = Kinds, units = units.ToArray() }, cancellationToken: cancellationToken)))
            .Select(r => r.RequireEntry()).ToList();

        var after = rows.Where(e => e.Kind != LedgerKind.Decision).ToLookup(e => e.MessageId);
        var decisions = rows.Where(e => e.Kind == LedgerKind.Decision && e.Outcome == LedgerOutcome.Permitted).ToList();
        var versions = await ConsentVersionsAsync(connection, decisions, cancellationToken);

        var entries = new List<ExtractEntry>();
        var withheld = new List<WithheldEntry>();
        foreach (var d in decisions)
        {
            if (WithholdingRule(d) is { } rule)
            {
                withheld.Add(new WithheldEntry(d.MessageId, d.At, d.SendingUnit, d.ReceivingUnit, rule, rule == ReporterRule ? options.Value.ReporterRule : options.Value.HarmRule));
                continue;
            }

            var steps = after[d.MessageId].ToList();
            var acknowledged = steps.FirstOrDefault(s => s.Kind == LedgerKind.Acknowledgement)?.At;
            entries.Add(new ExtractEntry(
                d.MessageId, d.At, Unit(d.SendingUnit), Unit(d.ReceivingUnit), d.Purpose, d.Categories, d.Basis ?? "",
                d.ConsentId, d.ConsentId is { } id ? VersionAt(versions, id, d.At) : null, d.ActingSystem,
                steps.FirstOrDefault(s => s.Kind == LedgerKind.Delivery)?.At, acknowledged is null ? null : true, acknowledged,
                steps.FirstOrDefault(s => s.Kind == LedgerKind.Withdrawal)?.At));
        }

        return new LogExtract(requestId, now, requester, units, entries, withheld, [options.Value.ReporterRule, options.Value.HarmRule]);
    }

    /// <summary>
    /// The rule that keeps an entry out of the family's extract, or null. A report of concern would name its reporter
    /// (the sending unit is the reporter), so it is withheld under the reporter rule; a disclosure to protect the child
    /// (OSL 25:12 / 26:9) under the harm rule. The hub cannot weigh the individual case, so it withholds and says so to
    /// the staff, who may release an entry after their own assessment (fail closed, as the gate does).
    /// </summary>
    internal string? WithholdingRule(LedgerEntry decision)
    {
        var basis = decision.Basis is { } id ? bases.Find(id) : null;
        if (decision.Purpose == nameof(Purpose.ReportOfConcern) || basis?.Kind == BasisKind.MandatoryReport)
        {
            return ReporterRule;
        }

        return basis?.Kind == BasisKind.ProtectChild ? HarmRule : null;
    }

    /// <summary>The ledger entry that records the extract was given: counts and withheld message ids, no personal data but the pseudonym.</summary>
    public static LedgerEntry EntryFor(LogExtract extract, string pseudonym, string actingSystem, string requestedBy, bool assessed, string? assessmentReference)
    {
        var reasons = new List<string>
        {
            $"requested by {extract.Requester}",
            string.Create(CultureInfo.InvariantCulture, $"{extract.Entries.Count} entries shown, {extract.Withheld.Count} withheld"),
        };
        if (assessed)
        {
            // The reference is staff's own text: only its digest goes into the append-only ledger.
            reasons.Add($"assessed, reference digest {Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(assessmentReference ?? "")))[..16]}");
        }

        reasons.AddRange(extract.Withheld.Select(w => $"withheld {w.MessageId:D} ({w.Rule} rule)"));
        return new LedgerEntry
        {
            MessageId = extract.RequestId,
            Kind = LedgerKind.ExtractDisclosed,
            Outcome = LedgerOutcome.Recorded,
            SendingUnit = string.Join(',', extract.Units),
            // Never empty: every ledger field becomes a FHIR value in the AuditEvent export, where an empty string is invalid.
            ReceivingUnit = extract.Requester == ExtractRequester.Guardian ? "requester:guardian" : "requester:subject",
            ActingSystem = actingSystem,
            ActingUser = requestedBy,
            SubjectPseudonym = pseudonym,
            Purpose = "log-extract",
            Categories = [],
            Reasons = [.. reasons],
            At = extract.CreatedAt,
        };
    }

    private ExtractUnit Unit(string id) => registry.FindUnit(id) is { } unit
        ? new ExtractUnit(unit.Id, unit.Name, registry.PrincipalOf(unit).Name)
        : new ExtractUnit(id, id, "");

    private static async Task<ILookup<Guid, (int Version, DateTimeOffset RecordedAt)>> ConsentVersionsAsync(
        NpgsqlConnection connection, List<LedgerEntry> decisions, CancellationToken cancellationToken)
    {
        var ids = decisions.Where(d => d.ConsentId is not null).Select(d => d.ConsentId!.Value).Distinct().ToArray();
        if (ids.Length == 0)
        {
            return Array.Empty<(Guid, int, DateTimeOffset)>().ToLookup(v => v.Item1, v => (v.Item2, v.Item3));
        }

        var rows = await connection.QueryAsync<(Guid ConsentId, int Version, DateTime RecordedAt)>(new CommandDefinition(
            "SELECT consent_id, version, recorded_at FROM consent_versions WHERE consent_id = ANY(@ids)", new { ids }, cancellationToken: cancellationToken));
        return rows.ToLookup(r => r.ConsentId, r => (r.Version, new DateTimeOffset(DateTime.SpecifyKind(r.RecordedAt, DateTimeKind.Utc))));
    }

    /// <summary>The version in force when the gate decided: the newest recorded by then.</summary>
    private static int? VersionAt(ILookup<Guid, (int Version, DateTimeOffset RecordedAt)> versions, Guid consentId, DateTimeOffset at) =>
        versions[consentId].Where(v => v.RecordedAt <= at).Select(v => (int?)v.Version).Max();
}
