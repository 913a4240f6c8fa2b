using System.Globalization;
using Dapper;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Data;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// A consent change that narrows, a new consent with a recorded "no", and a custody change, bite like a revocation
/// (domain.md section 3: "revocation or change takes effect at once"): every delivery the gate permitted under the
/// consent that the gate would not permit now, with the subject's consents as they stand, is announced to its receiving
/// service, which withdraws it if the receiving system has not fetched it and lists it in a notice if it has
/// (<c>ConsentRevokedConsumer</c>). Coverage is the gate's
/// own decision (<see cref="SecrecyGate.Decide"/>), not a second reading; a delivery under a statutory basis has no
/// consent behind it and is never looked at. A permit given on consents read just before the change, but in the ledger
/// only after the sweep read it, the gate withdraws itself: it decides again once its permit is in the ledger
/// (<c>SubmitDisclosureConsumer</c>). Like <see cref="RevocationAnnouncer"/>, a sweep is recorded as done only
/// after the broker confirms, and a loop runs whatever is still undone (a custody change that takes effect later, a
/// broker outage, a crash); receivers handle an announcement twice without harm.
/// </summary>
public sealed class CoverageWithdrawals(
    NpgsqlDataSource db, ConsentStore store, SecrecyGate gate, IBus bus, TimeProvider clock, ILogger<CoverageWithdrawals> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>The fast path for a new version, right after it is committed. A failure here is left to the loop.</summary>
    public Task TrySweepVersionAsync(ConsentRecord version, string subjectPseudonym, CancellationToken cancellationToken) =>
        TryAsync(() => SweepVersionAsync(version.Id, version.Version, subjectPseudonym, version.RecordedAt, cancellationToken), cancellationToken);

    /// <summary>The fast path for a custody change already in effect. A failure here is left to the loop.</summary>
    public Task TrySweepCustodyAsync(CustodyChange change, CancellationToken cancellationToken) =>
        TryAsync(() => SweepCustodyAsync(change.Id, change.SubjectPseudonym, change.NoLongerGuardianFrom, cancellationToken), cancellationToken);

    private async Task TryAsync(Func<Task> sweep, CancellationToken cancellationToken)
    {
        try
        {
            await sweep();
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Withdrawing deliveries a consent no longer covers failed ({Error}); retrying in the background.", ex.GetType().Name);
        }
    }

    /// <summary>
    /// Versions not swept yet, oldest first: every change and revocation, and a first version with a recorded "no" (it
    /// vetoes the subject's other consents for its situation). A version dated ahead is swept once when recorded (what it replaced
    /// stops covering then) and once more when it takes effect (a "no" vetoes from then): a version counts as swept when a
    /// sweep decided at or after its start, or, while its start is ahead, when any did. A recent pass reads what was
    /// recorded or started lately.
    /// </summary>
    internal static string PendingVersionsSql(CatchUpPasses.Pass pass) => $"""
        SELECT v.consent_id AS ConsentId, v.version AS Version, v.subject_pseudonym AS SubjectPseudonym, v.recorded_at AS At
        FROM consent_versions v
        WHERE (v.state = 'Revoked'
               OR (v.state = 'Active' AND (v.version > 1 OR EXISTS (SELECT 1 FROM jsonb_array_elements(v.record->'grantors') g WHERE g->>'answer' IN ('No', 'Partial')))))
          AND v.recorded_at < now() - interval '2 seconds'
          {(pass == CatchUpPasses.Pass.Recent ? CatchUpPasses.RecentVersionsOrStarts : "")}
          AND NOT EXISTS (
              SELECT 1 FROM coverage_sweeps s WHERE s.change_id = v.consent_id AND s.version = v.version
                AND (s.swept_at >= (v.record->>'validFrom')::timestamptz OR (v.record->>'validFrom')::timestamptz > now()))
        ORDER BY v.recorded_at LIMIT {CatchUpPasses.Limit}
        """;

    /// <summary>
    /// Consents that have reached their end and not been swept since: the current version of each, active, whose end has
    /// come. A consent is never valid past its end (domain.md section 3), so what it let through and the receiving
    /// system has not fetched is withdrawn within seconds of the end, as a change would withdraw it. Swept twice: once
    /// the end has come, and once <see cref="EndMargin"/> after it, since a gate instance whose clock is a little behind
    /// the sweeper's may still permit under it, its permit in the ledger after the first sweep read it. A sweep counts when
    /// it decided at or after the end (or the margin): the end's own (version negated) or the version's, for a change that
    /// moved the end back had its sweep. A recent pass reads the versions that ended lately (consent_versions_by_end); a
    /// walk over all of them goes from the newest end back, from <c>@Before</c> (null: from now), and reads a version
    /// written by an instance from before the end had its column by the end in its record.
    /// </summary>
    internal static string PendingEndsSql(CatchUpPasses.Pass pass)
    {
        var end = pass == CatchUpPasses.Pass.Recent ? "v.valid_until" : "COALESCE(v.valid_until, (v.record->>'validUntil')::timestamptz)";
        return $"""
            SELECT v.consent_id AS ConsentId, v.version AS Version, v.subject_pseudonym AS SubjectPseudonym, {end} AS At
            FROM consent_versions v
            WHERE v.state = 'Active' AND {end} <= now()
              {(pass == CatchUpPasses.Pass.Recent ? CatchUpPasses.RecentEnds : $"AND (@Before::timestamptz IS NULL OR {end} <= @Before)")}
              AND NOT EXISTS (SELECT 1 FROM consent_versions n WHERE n.consent_id = v.consent_id AND n.version > v.version)
              AND NOT EXISTS (
                  SELECT 1 FROM coverage_sweeps s WHERE s.change_id = v.consent_id AND s.version IN (v.version, -v.version)
                    AND s.swept_at >= {end} + CASE WHEN now() >= {end} + interval '{EndMargin}' THEN interval '{EndMargin}' ELSE interval '0 seconds' END)
            ORDER BY {end} DESC LIMIT {CatchUpPasses.Limit}
            """;
    }

    /// <summary>How long after a consent's end it is swept again (<see cref="PendingEndsSql"/>), as PostgreSQL's interval.</summary>
    internal const string EndMargin = "1 minute";

    /// <summary>Custody changes in effect and not swept yet, earliest effect first.</summary>
    internal static string PendingCustodySql(CatchUpPasses.Pass pass) => $"""
        SELECT c.id AS Id, c.subject_pseudonym AS SubjectPseudonym, c.no_longer_guardian_from AS At
        FROM custody_changes c
        WHERE c.no_longer_guardian_from <= now() AND c.recorded_at < now() - interval '2 seconds'
          {(pass == CatchUpPasses.Pass.Recent ? CatchUpPasses.RecentCustodyChanges : "")}
          AND NOT EXISTS (SELECT 1 FROM coverage_sweeps s WHERE s.change_id = c.id AND s.version = 0)
        ORDER BY c.no_longer_guardian_from LIMIT {CatchUpPasses.Limit}
        """;

    /// <summary>Where the walk over all consents' ends goes on (newest first); null when none is under way.</summary>
    private DateTimeOffset? endsWalk;

    private DateTimeOffset nextEndsWalk = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var passes = new CatchUpPasses(clock);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                // Versions that may have taken cover away (a revocation's own permits are its announcer's; others it
                // may have covered are the sweep's). Custody changes once they are in effect. The fast path gets a
                // moment first. One pass reads both.
                var pass = passes.Next();
                var versions = (await connection.QueryAsync<PendingVersion>(PendingVersionsSql(pass))).AsList();
                foreach (var v in versions)
                {
                    await SweepVersionAsync(v.ConsentId, v.Version, v.SubjectPseudonym, v.At, stoppingToken);
                }

                var custody = (await connection.QueryAsync<PendingCustody>(PendingCustodySql(pass))).AsList();
                foreach (var c in custody)
                {
                    await SweepCustodyAsync(c.Id, c.SubjectPseudonym, c.At, stoppingToken);
                }

                passes.Finished(foundAll: versions.Count < CatchUpPasses.Limit && custody.Count < CatchUpPasses.Limit);

                // Consents' ends: those of the last minutes on every pass, so that a backlog (the first start after the
                // upgrade that brought this, with every consent that ended before it) never holds up one that ends now;
                // and a walk over all of them, newest first, a page a pass, once an hour.
                foreach (var e in await connection.QueryAsync<PendingVersion>(PendingEndsSql(CatchUpPasses.Pass.Recent)))
                {
                    await SweepEndAsync(e.ConsentId, e.Version, e.SubjectPseudonym, e.At, stoppingToken);
                }

                if (endsWalk is not null || clock.GetUtcNow() >= nextEndsWalk)
                {
                    var page = (await connection.QueryAsync<PendingVersion>(PendingEndsSql(CatchUpPasses.Pass.All), new { Before = endsWalk })).AsList();
                    foreach (var e in page)
                    {
                        await SweepEndAsync(e.ConsentId, e.Version, e.SubjectPseudonym, e.At, stoppingToken);
                    }

                    endsWalk = page.Count < CatchUpPasses.Limit ? null : page[^1].At;
                    nextEndsWalk = endsWalk is null ? clock.GetUtcNow() + CatchUpPasses.AllEvery : nextEndsWalk;
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Withdrawing deliveries consents no longer cover failed ({Error}); retrying.", ex.GetType().Name);
            }

            await Task.Delay(Interval, stoppingToken);
        }
    }

    private async Task SweepVersionAsync(Guid consentId, int version, string subjectPseudonym, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // The announcement's id: one per consent version, like the ledger entry's.
        var changeId = Ledger.ConsentLedger.EntryId(consentId, version);
        var decidedAt = clock.GetUtcNow();
        await SweepAsync(subjectPseudonym, consentId, changeId, at, decidedAt, cancellationToken);
        await MarkSweptAsync(consentId, version, decidedAt, cancellationToken);
    }

    /// <summary>
    /// A consent that reached its end, recorded under the version negated: the version's own sweep (a narrowing's, which
    /// notices what was fetched) stays pending until it is done. A sweep decided by a clock behind the database's finds
    /// the consent still in force, withdraws nothing, and does not count (<see cref="PendingEndsSql"/>).
    /// </summary>
    private async Task SweepEndAsync(Guid consentId, int version, string subjectPseudonym, DateTimeOffset end, CancellationToken cancellationToken)
    {
        var changeId = NameBasedId.Of(string.Create(CultureInfo.InvariantCulture, $"consent-end:{consentId:N}:{version}"));
        var decidedAt = clock.GetUtcNow();
        await SweepAsync(subjectPseudonym, consentId, changeId, end, decidedAt, cancellationToken, ended: true);
        await MarkSweptAsync(consentId, -version, decidedAt, cancellationToken);
    }

    private async Task SweepCustodyAsync(Guid changeId, string subjectPseudonym, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // Every consent of the subject: the one reading (the gate's) says which still cover what they let through.
        var decidedAt = clock.GetUtcNow();
        await SweepAsync(subjectPseudonym, null, changeId, at, decidedAt, cancellationToken);
        await MarkSweptAsync(changeId, 0, decidedAt, cancellationToken);
    }

    /// <summary>
    /// Decides every permit on the subject's active consents again (an ended one's only where not acknowledged), over all
    /// of them as they stand. Not only the changed consent's: a change of one can take away the cover of a permit on
    /// another (a recorded "no" vetoes its situation; a permit that an earlier sweep left standing because another consent
    /// covered it loses that cover when the other is revoked, narrowed or ends). A revoked consent's own permits are its
    /// revocation's to withdraw (RevocationAnnouncer).
    /// </summary>
    /// <param name="now">The instant the gate decides every permit again at: the sweep is recorded as of it.</param>
    /// <param name="changed">The consent whose version is swept, if any: decided again even when the change ended it (an end
    /// moved back ends it as a revocation does), or it reached its end.</param>
    /// <param name="ended">The sweep of a consent's end: what the receiving system acknowledged is left out, and what it
    /// fetched is not noticed to it (<see cref="ConsentRevoked.Lapsed"/>): both were lawfully disclosed while it held. So
    /// for every consent that has ended, other than the one changed.</param>
    private async Task SweepAsync(
        string subjectPseudonym, Guid? changed, Guid changeId, DateTimeOffset at, DateTimeOffset now, CancellationToken cancellationToken,
        bool ended = false)
    {
        var consents = await store.CurrentForSubjectAsync(subjectPseudonym, cancellationToken);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        foreach (var consent in consents.Where(c => c.State == ConsentState.Active))
        {
            // A consent that has ended, not by the change swept: its permits that an earlier sweep left standing, because
            // another consent covered them, lose that cover with the other. What was acknowledged under it was lawfully
            // disclosed and is not announced; what was fetched is not noticed (Lapsed), however often it is announced.
            var lapsed = ended || (now >= consent.ValidUntil && consent.Id != changed);
            var permits = await connection.QueryAsync<Permit>(
                $"""
                SELECT l.message_id AS MessageId, l.sending_unit AS SendingUnit, l.receiving_unit AS ReceivingUnit, l.purpose AS Purpose,
                       l.categories AS Categories
                FROM ledger l
                WHERE l.consent_id = @Id AND l.kind = 'decision' AND l.outcome = 'permitted'
                  AND NOT EXISTS (SELECT 1 FROM ledger w WHERE w.message_id = l.message_id AND w.kind = 'withdrawal')
                  {(lapsed ? "AND NOT EXISTS (SELECT 1 FROM ledger a WHERE a.message_id = l.message_id AND a.kind = 'acknowledgement')" : "")}
                ORDER BY l.seq
                """,
                new { consent.Id });
            var uncovered = permits.Where(p => !gate.Decide(p.AsSubmission(consent.SubjectId, now), consents, now).Permitted).ToList();
            if (uncovered.Count == 0)
            {
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await bus.Publish(
                new ConsentRevoked
                {
                    ConsentId = consent.Id,
                    Version = consent.Version,
                    SubjectPseudonym = subjectPseudonym,
                    SendingUnits = consent.SendingUnits,
                    // The units the deliveries went to: a narrowing may have dropped one from the consent.
                    ReceivingUnits = uncovered.Select(p => p.ReceivingUnit).Distinct(StringComparer.Ordinal).ToList(),
                    RevokedAt = at,
                    MessageIds = uncovered.Select(p => p.MessageId).ToList(),
                    ChangeId = changeId,
                    Lapsed = lapsed,
                },
                timeout.Token);
        }
    }

    private async Task MarkSweptAsync(Guid changeId, int version, DateTimeOffset decidedAt, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(
            "INSERT INTO coverage_sweeps (change_id, version, swept_at) VALUES (@changeId, @version, @decidedAt) ON CONFLICT DO NOTHING",
            new { changeId, version, decidedAt });
    }

    /// <summary>The id of the withdrawal the gate makes itself of a permit that lost its cover while it was decided.</summary>
    public static Guid LateChangeId(Guid messageId) => NameBasedId.Of($"late-withdrawal:{messageId:N}");

    private sealed class PendingVersion
    {
        public Guid ConsentId { get; init; }
        public int Version { get; init; }
        public string SubjectPseudonym { get; init; } = "";
        public DateTimeOffset At { get; init; }
    }

    private sealed class PendingCustody
    {
        public Guid Id { get; init; }
        public string SubjectPseudonym { get; init; } = "";
        public DateTimeOffset At { get; init; }
    }

    // Dapper fills properties: Npgsql reports text[] columns as System.Array.
    private sealed class Permit
    {
        public Guid MessageId { get; init; }
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string[] Categories { get; init; } = [];

        /// <summary>The permitted submission as the gate decides it again: the ledger's metadata and the consent's subject.</summary>
        public SubmitDisclosure AsSubmission(string subjectId, DateTimeOffset now) => new()
        {
            MessageId = MessageId,
            SendingUnit = SendingUnit,
            ReceivingUnit = ReceivingUnit,
            Purpose = Enum.Parse<Purpose>(Purpose),
            Categories = Categories.Select(Enum.Parse<InformationCategory>).ToList(),
            SubjectId = subjectId,
            Content = "{}",
            ActingSystem = "hub",
            SubmittedAt = now,
        };
    }
}
