using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using FamiljecentralHub.Contracts.Consents;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using MassTransit;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Consents;

/// <summary>
/// Tells the receiving operations that a consent was revoked. The revocation itself is the committed version (the gate
/// reads it at once); the announcement must follow however the broker fares, so it is recorded as sent only after the
/// broker confirms, and a loop announces whatever is still unannounced (a broker outage at the moment of revocation, a
/// crash between commit and publish). Receivers handle an announcement twice without harm.
/// </summary>
public sealed class RevocationAnnouncer(NpgsqlDataSource db, IBus bus, Pseudonymizer pseudonyms, ILogger<RevocationAnnouncer> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>The fast path, right after the revocation is committed. A failure here is left to the loop.</summary>
    public async Task TryAnnounceAsync(ConsentRecord revoked, CancellationToken cancellationToken)
    {
        try
        {
            await AnnounceAsync(revoked, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Revocation of consent {ConsentId} not announced yet ({Error}); retrying in the background.", revoked.Id, ex.GetType().Name);
        }
    }

    /// <summary>Revocations not announced yet, oldest first.</summary>
    internal static string PendingSql(CatchUpPasses.Pass pass) => $"""
        SELECT v.record::text FROM consent_versions v
        LEFT JOIN revocation_announcements a ON a.consent_id = v.consent_id AND a.version = v.version
        WHERE v.state = 'Revoked' AND a.consent_id IS NULL
          {(pass == CatchUpPasses.Pass.Recent ? CatchUpPasses.RecentVersions : "")}
        ORDER BY v.recorded_at LIMIT {CatchUpPasses.Limit}
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var passes = new CatchUpPasses();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                var pending = (await connection.QueryAsync<string>(PendingSql(passes.Next()))).AsList();
                foreach (var json in pending)
                {
                    await AnnounceAsync(JsonSerializer.Deserialize<ConsentRecord>(json, Json)!, stoppingToken);
                }

                passes.Finished(foundAll: pending.Count < CatchUpPasses.Limit);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Announcing revocations failed ({Error}); retrying.", ex.GetType().Name);
            }

            await Task.Delay(Interval, stoppingToken);
        }
    }

    private async Task AnnounceAsync(ConsentRecord revoked, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await bus.Publish(
            new ConsentRevoked
            {
                ConsentId = revoked.Id,
                Version = revoked.Version,
                SubjectPseudonym = pseudonyms.For(revoked.SubjectId),
                SendingUnits = revoked.SendingUnits,
                ReceivingUnits = revoked.ReceivingUnits,
                RevokedAt = revoked.RecordedAt,
            },
            timeout.Token);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(
            """
            INSERT INTO revocation_announcements (consent_id, version, announced_at) VALUES (@Id, @Version, now())
            ON CONFLICT DO NOTHING
            """,
            new { revoked.Id, revoked.Version });
    }
}
