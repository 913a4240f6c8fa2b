using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// The console's dead letters: a report of concern the gate cannot record (its subject's ledger rows refused by a
/// constraint of its own) waits in the gate's error queue; each service lists its own queues to operators within their
/// scope; a redrive is recorded in the ledger with who and why before it is made, and the gate decides the message again.
/// </summary>
public sealed class ConsoleDeadLetterTests(HubFixture hub)
{
    private const string Preschool = "rosengard-oppna-forskolan";
    private const string Intake = "malmo-mottagning";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ADeadLetter_IsListedWithinScope_AndARedriveIsLedgeredThenDecidedAgain()
    {
        var subject = HubFixture.NewSubject();
        var pseudonym = new Pseudonymizer(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey })).For(subject);
        var constraint = $"poison_{Guid.NewGuid():N}"[..24];
        await using (var admin = new NpgsqlConnection(hub.Hub.AdminConnectionString("consent")))
        {
            await admin.ExecuteAsync($"ALTER TABLE ledger ADD CONSTRAINT {constraint} CHECK (subject_pseudonym <> '{pseudonym}') NOT VALID");
        }

        try
        {
            // The municipality's preschool reports to the municipality's intake: the region's operators have no part in it.
            using var preschool = hub.Client("forskola-system");
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/open-preschool/units/{Preschool}/reports-of-concern")
            {
                Content = JsonContent.Create(new { receivingUnit = Intake, subjectId = subject, concern = "Barnet berättar om slag hemma.", actingUser = "SE2321000016-FSK1" }),
            };
            request.Headers.Add("Idempotency-Key", $"dead-{Guid.NewGuid():N}");
            var sent = await preschool.SendAsync(request, Ct);
            sent.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var messageId = (await sent.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
            // And BVC's report about the same child: the region sends, the municipality would receive once it is decided.
            using var bvc = hub.Client(DemoRequests.ChildHealthClient);
            var fromBvc = await bvc.PostAsJsonAsync($"/child-health/units/{DemoRequests.ChildHealthUnit}/reports-of-concern",
                new { receivingUnit = Intake, subjectId = subject, concern = "Barnet har blåmärken.", actingUser = "SE2321000016-BVC1" }, Ct);
            fromBvc.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var bvcMessageId = (await fromBvc.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();

            using var hubOps = hub.Client("ops-console");
            using var municipal = hub.Client("ops-malmo-stad");
            using var region = hub.Client("ops-region-skane");
            var listing = await Eventually.MatchAsync(() => hubOps.GetStringAsync("/consent/errors", Ct), l => l.Contains(messageId.ToString(), StringComparison.Ordinal),
                TimeSpan.FromSeconds(90), _ => "the report never reached the gate's error queue", TimeSpan.FromSeconds(2), Ct);
            listing.ShouldContain(pseudonym);
            listing.ShouldNotContain(subject);
            listing.ShouldNotContain("slag hemma");
            await Eventually.MatchAsync(() => region.GetStringAsync("/consent/errors", Ct), l => l.Contains(bvcMessageId.ToString(), StringComparison.Ordinal),
                TimeSpan.FromSeconds(90), _ => "the region's report never reached the gate's error queue", TimeSpan.FromSeconds(2), Ct);
            (await municipal.GetStringAsync("/consent/errors", Ct)).ShouldContain(messageId.ToString());
            (await region.GetStringAsync("/consent/errors", Ct)).ShouldNotContain(messageId.ToString(), customMessage: "neither unit is the region's");
            // Not decided yet, so it may yet be refused: the receiving principal is not shown that it exists.
            (await municipal.GetStringAsync("/consent/errors", Ct)).ShouldNotContain(bvcMessageId.ToString(), customMessage: "an undecided submission to the municipality");

            // The region's operator cannot redrive it either; a form from another site is refused; a free-text reason too.
            (await RedriveAsync(region, messageId, "cause-fixed")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/consent/errors/redrive")
            {
                Content = new FormUrlEncodedContent([new("messageId", messageId.ToString()), new("reason", "cause-fixed")]),
            };
            crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
            (await municipal.SendAsync(crossSite, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            var freeText = await RedriveAsync(municipal, messageId, "Anna ringde och bad om det");
            freeText.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await freeText.Content.ReadAsStringAsync(Ct)).ShouldNotContain("Anna");
            (await municipal.GetStringAsync("/consent/errors", Ct)).ShouldContain(messageId.ToString(), customMessage: "a refused redrive leaves the copy where it was");

            await using (var admin = new NpgsqlConnection(hub.Hub.AdminConnectionString("consent")))
            {
                await admin.ExecuteAsync($"ALTER TABLE ledger DROP CONSTRAINT IF EXISTS {constraint}");
            }

            var redriven = await RedriveAsync(municipal, messageId, "cause-fixed", "INC-4711");
            redriven.StatusCode.ShouldBe(HttpStatusCode.OK, await redriven.Content.ReadAsStringAsync(Ct));
            (await RedriveAsync(municipal, bvcMessageId, "cause-fixed")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await RedriveAsync(region, bvcMessageId, "cause-fixed")).StatusCode.ShouldBe(HttpStatusCode.OK);
            var actionId = (await redriven.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("actionId").GetGuid();

            // Decided again and delivered to the intake; the action is in the ledger with who and why.
            using var social = hub.Client("socialtjanst-system");
            await Eventually.MatchAsync(() => social.GetAsync($"/social-services/units/{Intake}/inbox/{messageId}", Ct), r => r.StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(30), r => $"the redriven report was not delivered ({r?.StatusCode})", cancellationToken: Ct);
            (await social.PostAsync($"/social-services/units/{Intake}/inbox/{messageId}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            await Eventually.MatchAsync(() => social.PostAsync($"/social-services/units/{Intake}/inbox/{bvcMessageId}/acknowledge", null, Ct),
                r => r.StatusCode == HttpStatusCode.NoContent, TimeSpan.FromSeconds(30), r => $"BVC's redriven report was not delivered ({r?.StatusCode})", cancellationToken: Ct);
            await using var ledger = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
            var entry = await Eventually.MatchAsync(
                () => ledger.QuerySingleOrDefaultAsync<OperatorEntry>(
                    "SELECT acting_system AS ActingSystem, reasons AS Reasons FROM ledger WHERE message_id = @actionId AND kind = 'operator-action'", new { actionId }),
                e => e is not null, TimeSpan.FromSeconds(20), _ => "the redrive is not in the ledger", cancellationToken: Ct);
            entry!.ActingSystem.ShouldBe("ops-malmo-stad");
            entry.Reasons.ShouldContain("redrive because cause-fixed");
            entry.Reasons.ShouldContain("case INC-4711");
            entry.Reasons.ShouldContain(r => r.Contains(messageId.ToString(), StringComparison.Ordinal));
            (await hubOps.GetStringAsync("/consent/errors", Ct)).ShouldNotContain(messageId.ToString());
            var verified = await hub.Hub.Services["consent"].RunCommandAsync(["verify-ledger"], TimeSpan.FromMinutes(2), Ct);
            verified.ExitCode.ShouldBe(0, verified.Output);
        }
        finally
        {
            await using var admin = new NpgsqlConnection(hub.Hub.AdminConnectionString("consent"));
            await admin.ExecuteAsync($"ALTER TABLE ledger DROP CONSTRAINT IF EXISTS {constraint}");
        }
    }

    /// <summary>
    /// A form the framework cannot parse (here more fields than it reads, 1 024) is the operator's mistake or a hostile
    /// one: a 400 problem, not a 500.
    /// </summary>
    [Fact]
    public async Task Redrive_AFormThatCannotBeRead_Gets400Problem()
    {
        using var ops = hub.Client("ops-console");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/consent/errors/redrive")
        {
            Content = new FormUrlEncodedContent(Enumerable.Range(0, 1100).Select(_ => new KeyValuePair<string, string>("messageId", Guid.NewGuid().ToString()))),
        };
        request.Headers.Add("Sec-Fetch-Site", "same-origin");

        await InputHygieneTests.ShouldBeBoundedProblemAsync(await ops.SendAsync(request, Ct), HttpStatusCode.BadRequest);
    }

    private sealed class OperatorEntry
    {
        public string ActingSystem { get; init; } = "";
        public string[] Reasons { get; init; } = [];
    }

    private static async Task<HttpResponseMessage> RedriveAsync(HttpClient client, Guid messageId, string reason, string? ticket = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/consent/errors/redrive")
        {
            Content = new FormUrlEncodedContent([new("messageId", messageId.ToString()), new("reason", reason), new("ticket", ticket ?? "")]),
        };
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        return await client.SendAsync(request, Ct);
    }
}
