using System.Net.Http.Json;
using System.Net;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;
using Npgsql;

namespace FamiljecentralHub.Faults.Tests;

public sealed class TwoInstancesHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private, Instances = 2 }, FaultHub.Settle);

/// <summary>
/// Every service runs twice and the instances compete for its queues. Mid-stream one instance each of the sender, the
/// gate and the receiver is killed, and guardians revoke a third of the consents. Still exactly one effect per referral,
/// and order holds where the law needs it: nothing sent after a revocation is delivered, and nothing delivered under a
/// revoked consent stays in an inbox unfetched.
/// </summary>
public sealed class CompetingConsumerTests(TwoInstancesHubFixture fixture, FaultResults results) : IClassFixture<TwoInstancesHubFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoInstancesOfEveryService_OneOfEachKilledAndConsentsRevoked_ExactlyOnceAndRevocationFirst()
    {
        var hub = fixture.Hub;
        ServiceProcess[] victims = [hub.Instances("child-health")[0], hub.Instances("consent")[0], hub.Instances("social-services")[1]];
        var result = await FaultRun.RunAsync(
            hub, fixture.Pki, Fault.TwoInstancesEach,
            async ct => await Task.WhenAll(victims.Select(victim => victim.KillAsync(ct))),
            TimeSpan.FromSeconds(3),
            async ct => await Task.WhenAll(victims.Select(victim => victim.StartAsync(ct))),
            Ct,
            meanwhile: RevokeEveryThirdAsync);
        results.Add(result);

        FaultAssertions.NothingLostDuplicatedOrLeaked(result);
        result.Revoked.Count.ShouldBe(6);

        // Sent after the hub confirmed the revocation: refused by the gate, so never stored.
        var sentAfter = result.Submissions
            .Where(s => s.MessageId is not null && result.Revoked.TryGetValue(s.Subject, out var revokedAt) && s.FirstAttemptAt > revokedAt)
            .Select(s => s.MessageId!.Value)
            .ToArray();
        sentAfter.ShouldNotBeEmpty();
        await using var inbox = new NpgsqlConnection(hub.ConnectionString("social-services"));
        var storedAfter = await inbox.QueryAsync<Guid>("SELECT message_id FROM inbox WHERE message_id = ANY(@sentAfter)", new { sentAfter });
        storedAfter.ShouldBeEmpty("a referral sent after its consent was revoked reached the inbox");

        // Delivered before the revocation and never fetched: withdrawn, whichever instance stored it and whichever got the revocation.
        var revokedSubjects = result.Revoked.Keys.ToArray();
        var stillThere = await inbox.QueryAsync<Guid>(
            "SELECT message_id FROM inbox WHERE subject_id = ANY(@revokedSubjects) AND withdrawn_at IS NULL", new { revokedSubjects });
        stillThere.ShouldBeEmpty("an unfetched delivery under a revoked consent stayed in the inbox");
    }

    /// <summary>Revokes six of the eighteen consents, one by one, while the stream and the kills go on.</summary>
    private static async Task RevokeEveryThirdAsync(
        HttpClient client, IReadOnlyDictionary<string, Guid> consents, Dictionary<string, DateTimeOffset> revoked, CancellationToken ct)
    {
        foreach (var (subject, consentId) in consents.Where((_, index) => index % 3 == 0))
        {
            // The consent service may be the instance just killed: retry like any client until the revocation is confirmed.
            while (true)
            {
                using var response = await client.PostAsJsonAsync(
                    $"{DemoRequests.ConsentPath}/{consentId}/revoke",
                    new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" },
                    ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    revoked[subject] = DateTimeOffset.UtcNow;
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
        }
    }
}
