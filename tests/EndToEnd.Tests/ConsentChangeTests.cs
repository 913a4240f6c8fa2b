using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// A consent change bites like a revocation, through the gateway: a version that narrows the consent, and a custody
/// change that takes away the grantor it rested on, withdraw what the receiving system has not fetched and no longer has
/// cover, tell it of what it has fetched, and leave alone what is still covered (docs/secrecy-gate.md, "Consent changes
/// bite"). The races are modelled on <see cref="RevocationTests"/>.
/// </summary>
public sealed class ConsentChangeTests(HubFixture hub)
{
    private const string Both = "both";
    private const string Support = "support";
    private const string CustodyPath = "/consent/custody-changes";
    private const string SentPath = $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent";
    private const string NoticesPath = $"/social-services/units/{DemoRequests.SocialServicesUnit}/notices";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Narrow_WithdrawsAnUnfetchedDeliveryItNoLongerCoversAndLeavesACoveredOne()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var (consentId, consent) = await RecordAsync(bvc, subject);
        var uncovered = await SubmitAsync(bvc, subject, Both);
        var covered = await SubmitAsync(bvc, subject, Support);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{uncovered}", "Delivered");
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{covered}", "Delivered");

        (await NarrowAsync(social, consentId, consent)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var withdrawn = await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{uncovered}", "Withdrawn");
        withdrawn.GetProperty("status").GetString().ShouldBe("Withdrawn", "a delivery the narrowed consent no longer covers is withdrawn unfetched");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{uncovered}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await Task.Delay(1000, Ct);
        (await StatusAsync(bvc, covered)).ShouldBe("Delivered", "a delivery the narrowed consent still covers is untouched");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{covered}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await StatusAsync(bvc, await SubmitAsync(bvc, subject, Both), final: true)).ShouldBe("Refused");
        await AcknowledgeAsync(social, [covered]);
    }

    [Fact]
    public async Task Narrow_AfterTheReceiverFetched_TellsItInANoticeNamingTheChange()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var (consentId, consent) = await RecordAsync(bvc, subject);
        var fetched = await SubmitAsync(bvc, subject, Both);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{fetched}", "Delivered");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{fetched}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await NarrowAsync(social, consentId, consent)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var notice = await Eventually.MatchAsync(
            async () => (await social.GetFromJsonAsync<JsonElement>(NoticesPath, Ct)).EnumerateArray()
                .FirstOrDefault(n => n.GetProperty("consentId").GetGuid() == consentId),
            n => n.ValueKind == JsonValueKind.Object,
            TimeSpan.FromSeconds(20), _ => "no notice of the narrowing reached the receiving unit", cancellationToken: Ct);
        notice.GetProperty("messageIds").EnumerateArray().Select(m => m.GetGuid()).ShouldBe([fetched]);
        notice.GetProperty("changeId").ValueKind.ShouldBe(JsonValueKind.String, "a notice of a change, not of a revocation");
        (await StatusAsync(bvc, fetched)).ShouldBe("Delivered", "what the receiving system already has cannot be withdrawn, only noticed");
        await AcknowledgeAsync(social, [fetched]);
    }

    /// <summary>
    /// Two consents for one situation; the gate permits on one of them. Narrowed, it no longer covers the delivery, but the
    /// other still does, so the delivery stays. Then the other is revoked: now nothing covers the delivery, which rests on
    /// a consent that was not itself revoked, and the receiving system has not fetched it, so it is withdrawn. The same when
    /// the other is narrowed instead.
    /// </summary>
    [Theory]
    [InlineData("revoked")]
    [InlineData("narrowed")]
    public async Task TheConsentThatStillCoveredADelivery_RevokedOrNarrowed_WithdrawsItUnfetched(string end)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var (first, consent) = await RecordAsync(bvc, subject);
        var (second, _) = await RecordAsync(bvc, subject);
        var delivered = await SubmitAsync(bvc, subject, Both);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Delivered");
        Guid reliedOn;
        await using (var connection = new Npgsql.NpgsqlConnection(hub.Hub.ConnectionString("consent")))
        {
            reliedOn = await Dapper.SqlMapper.ExecuteScalarAsync<Guid>(connection,
                "SELECT consent_id FROM ledger WHERE message_id = @delivered AND kind = 'decision'", new { delivered });
        }

        var other = reliedOn == first ? second : first;
        (await NarrowAsync(social, reliedOn, consent)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Task.Delay(3000, Ct);
        (await StatusAsync(bvc, delivered)).ShouldBe("Delivered", "the other consent still covers it");

        var response = end == "revoked"
            ? await bvc.PostAsJsonAsync($"{DemoRequests.ConsentPath}/{other}/revoke",
                new { recordedBy = "SE2321000016-BVC1", recordingUnit = DemoRequests.ChildHealthUnit, reason = "Vårdnadshavaren återkallar samtycket" }, Ct)
            : await NarrowAsync(social, other, consent);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);

        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Withdrawn");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{delivered}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// A change that moves the consent's end back to a moment already past ends it, as a revocation would: what it let
    /// through and the receiving system has not fetched is withdrawn.
    /// </summary>
    [Fact]
    public async Task Change_EndingTheConsentNow_WithdrawsAnUnfetchedDelivery()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var (consentId, consent) = await RecordAsync(bvc, subject);
        var delivered = await SubmitAsync(bvc, subject, Support);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Delivered");
        var validFrom = (await bvc.GetFromJsonAsync<JsonElement>($"{DemoRequests.ConsentPath}/{consentId}", Ct)).GetProperty("validFrom").GetDateTimeOffset();

        var ended = SocialServicesChange(consent);
        ended["validUntil"] = validFrom.AddSeconds(1);
        // The end must be past when the change is recorded: a warm hub delivers within that second.
        await Task.Delay(validFrom.AddSeconds(2) - DateTimeOffset.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero, Ct);
        ended["changeReason"] = "Vårdnadshavaren avslutar samtycket";
        (await social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}", ended, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Withdrawn; or, should another test's fetcher of this shared inbox have fetched it first, listed in a notice.
        await Eventually.TrueAsync(
            async () => await StatusAsync(bvc, delivered) == "Withdrawn" || await NoticedAsync(delivered),
            TimeSpan.FromSeconds(30), "the delivery of a consent that has ended was neither withdrawn nor noticed", cancellationToken: Ct);
        if (await StatusAsync(bvc, delivered) == "Withdrawn")
        {
            (await social.GetAsync($"{DemoRequests.InboxPath}/{delivered}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }
    }

    /// <summary>
    /// A consent is never valid past its end (domain.md section 3), and no change need be recorded for it to end: what it
    /// let through and the receiving system has not fetched is withdrawn within seconds of the end, the sender told why,
    /// and nothing more is noticed to the receiver (what it fetched while the consent held was lawfully disclosed).
    /// </summary>
    [Fact]
    public async Task Lapse_WithdrawsAnUnfetchedDelivery_WithinSecondsOfTheEnd()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var end = DateTimeOffset.UtcNow.AddSeconds(20);
        var (consentId, _) = await RecordAsync(bvc, subject, validUntil: end);
        var fetched = await SubmitAsync(bvc, subject, Support);
        var unfetched = await SubmitAsync(bvc, subject, Support);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{fetched}", "Delivered");
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{unfetched}", "Delivered");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{fetched}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        DateTimeOffset.UtcNow.ShouldBeLessThan(end, "both were delivered while the consent held");

        var withdrawn = await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{unfetched}", "Withdrawn", end - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20));

        withdrawn.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldBe([Contracts.Disclosures.ReceiverReasons.NoLongerCovered]);
        (await social.GetAsync($"{DemoRequests.InboxPath}/{unfetched}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(bvc, fetched)).ShouldBe("Delivered", "what the receiving system fetched while the consent held stays with it");
        (await social.GetFromJsonAsync<JsonElement>(NoticesPath, Ct)).EnumerateArray()
            .ShouldNotContain(n => n.GetProperty("consentId").GetGuid() == consentId, "a consent's end is no news to withdraw what was fetched under it");
        await AcknowledgeAsync(social, [fetched]);
    }

    /// <summary>Whether the receiving service holds a notice listing the message (the notices of the shared unit are many).</summary>
    private async Task<bool> NoticedAsync(Guid messageId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(hub.Hub.ConnectionString("social-services"));
        return await Dapper.SqlMapper.ExecuteScalarAsync<bool>(connection,
            "SELECT EXISTS (SELECT 1 FROM revocation_notices WHERE @messageId = ANY(message_ids))", new { messageId });
    }

    /// <summary>
    /// The other guardian's "no", recorded by the discloser as a consent of its own, vetoes the situation the first consent
    /// let through, at once: what the receiving system has not fetched is withdrawn, as a narrowing withdraws it.
    /// </summary>
    [Fact]
    public async Task NewConsentWithANo_WithdrawsAnUnfetchedDeliveryTheFirstConsentLetThrough()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        await RecordAsync(bvc, subject);
        var delivered = await SubmitAsync(bvc, subject, Support);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Delivered");

        var no = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow))!.AsObject();
        no["grantors"] = JsonSerializer.SerializeToNode(new[] { new { role = "Guardian", name = "Vårdnadshavare 2", answer = "No" } });
        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, no, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));

        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Withdrawn");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{delivered}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await StatusAsync(bvc, await SubmitAsync(bvc, subject, Support), final: true)).ShouldBe("Refused");
    }

    [Fact]
    public async Task CustodyChange_StopsTheGateRelyingOnTheFormerGuardianAndWithdraws()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        var (consentId, _) = await RecordAsync(bvc, subject, guardian);
        var delivered = await SubmitAsync(bvc, subject, Both);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Delivered");

        var response = await social.PostAsJsonAsync(CustodyPath, Custody(subject, guardian, DemoRequests.SocialServicesUnit, "SE2321000016-SOC1"), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        // Social services is named only as the receiver: the answer lists no consent (CustodyChange_ByAReceivingUnit_…).
        JsonDocument.Parse(body).RootElement.GetProperty("consents").GetArrayLength().ShouldBe(0);
        body.ShouldNotContain(consentId.ToString());
        body.ShouldNotContain(guardian);
        body.ShouldNotContain(subject);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{delivered}", "Withdrawn");
        (await social.GetAsync($"{DemoRequests.InboxPath}/{delivered}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var refused = await SubmitAsync(bvc, subject, Support);
        var status = await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{refused}", "Refused");
        status.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldContain(r => r!.Contains("is no longer a guardian"));
    }

    /// <summary>
    /// A unit named only as a receiver never sees who gave a consent, so a custody change it records is answered alike
    /// whether or not the person is a grantor: before, 200 naming the consent against 404 told it who the guardians are.
    /// The change still takes when they are. The disclosing unit, which reads its consent whole, is told which it reached.
    /// </summary>
    [Fact]
    public async Task CustodyChange_ByAReceivingUnit_AnswersAlikeWhetherOrNotThePersonIsAGrantor()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        var (consentId, _) = await RecordAsync(bvc, subject, guardian);

        // A guessed guardian, and a guessed child no consent is about: neither may answer otherwise than the real one.
        var guessed = await social.PostAsJsonAsync(CustodyPath, Custody(subject, HubFixture.NewAdult(), DemoRequests.SocialServicesUnit, "SE2321000016-SOC1"), Ct);
        var noSuchChild = await social.PostAsJsonAsync(CustodyPath, Custody(HubFixture.NewSubject(), guardian, DemoRequests.SocialServicesUnit, "SE2321000016-SOC1"), Ct);
        var real = await social.PostAsJsonAsync(CustodyPath, Custody(subject, guardian, DemoRequests.SocialServicesUnit, "SE2321000016-SOC1"), Ct);

        guessed.StatusCode.ShouldBe(HttpStatusCode.OK, await guessed.Content.ReadAsStringAsync(Ct));
        noSuchChild.StatusCode.ShouldBe(HttpStatusCode.OK, await noSuchChild.Content.ReadAsStringAsync(Ct));
        real.StatusCode.ShouldBe(HttpStatusCode.OK);
        static IEnumerable<string> Shape(JsonElement e) => e.EnumerateObject().Select(p => $"{p.Name}:{p.Value.ValueKind}:{(p.Value.ValueKind == JsonValueKind.Array ? p.Value.GetArrayLength() : 0)}");
        var realShape = Shape(await real.Content.ReadFromJsonAsync<JsonElement>(Ct)).ToList();
        Shape(await guessed.Content.ReadFromJsonAsync<JsonElement>(Ct)).ShouldBe(realShape);
        Shape(await noSuchChild.Content.ReadFromJsonAsync<JsonElement>(Ct)).ShouldBe(realShape);
        var refused = await SubmitAsync(bvc, subject, Support);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{refused}", "Refused");
        var told = await bvc.PostAsJsonAsync(CustodyPath, Custody(subject, guardian, DemoRequests.ChildHealthUnit, "SE2321000016-BVC1"), Ct);
        (await told.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("consents").EnumerateArray().Select(c => c.GetGuid()).ShouldBe([consentId]);
    }

    /// <summary>
    /// After a custody change the receiver may not give the former guardian's yes back its force by rewriting their number
    /// (compared without the change the two versions look alike): a receiver's change keeps the grantors as they stand.
    /// </summary>
    [Fact]
    public async Task CustodyChange_ThenAReceiversChangeOfTheGrantorsNumber_KeepsTheNumberAndTheGateStillRefuses()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        var (consentId, consent) = await RecordAsync(bvc, subject, guardian);
        (await social.PostAsJsonAsync(CustodyPath, Custody(subject, guardian, DemoRequests.SocialServicesUnit, "SE2321000016-SOC1"), Ct))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        var rewritten = SocialServicesChange(consent);
        rewritten["grantors"]![0]!["identityNumber"] = HubFixture.NewAdult();
        var unnumbered = rewritten.DeepClone().AsObject();
        unnumbered["grantors"]![0]!.AsObject().Remove("identityNumber");

        unnumbered["expectedVersion"] = 2;

        (await social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}", rewritten, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}", unnumbered, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await bvc.GetFromJsonAsync<JsonElement>($"{DemoRequests.ConsentPath}/{consentId}", Ct))
            .GetProperty("grantors")[0].GetProperty("identityNumber").GetString().ShouldBe(guardian);
        var refused = await SubmitAsync(bvc, subject, Support);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{refused}", "Refused");
    }

    /// <summary>
    /// A custody change dated ahead leaves the guardian's yes counting until then: a receiver's change that adds a category
    /// is a widening for those days, though read with the change applied both versions cover nothing.
    /// </summary>
    [Fact]
    public async Task CustodyChangeDatedAhead_ThenAReceiversChangeAddingACategory_Is403()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        var (consentId, consent) = await RecordAsync(bvc, subject, guardian);
        var ahead = Custody(subject, guardian, DemoRequests.SocialServicesUnit, "SE2321000016-SOC1");
        ahead["noLongerGuardianFrom"] = DateTimeOffset.UtcNow.AddDays(30).ToString("O");
        (await social.PostAsJsonAsync(CustodyPath, ahead, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var wider = SocialServicesChange(consent);
        wider["categories"] = new JsonArray("FamilySituation", "ParentingSupport", "ChildHealth");

        (await social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}", wider, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task CustodyChange_BadInputOrAStranger_StoresNothingAndRepeatsNoNumber()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        await RecordAsync(bvc, subject, guardian);
        var good = Custody(subject, guardian, DemoRequests.ChildHealthUnit, "SE2321000016-BVC1");

        var badNumber = good.DeepClone().AsObject();
        badNumber["grantorId"] = guardian[..^1] + ((guardian[^1] - '0' + 1) % 10);
        var invalid = await bvc.PostAsJsonAsync(CustodyPath, badNumber, Ct);
        var invalidBody = await invalid.Content.ReadAsStringAsync(Ct);
        invalid.StatusCode.ShouldBe(HttpStatusCode.BadRequest, invalidBody);
        invalidBody.ShouldContain("grantorId");
        invalidBody.ShouldNotContain(subject);
        invalidBody.ShouldNotContain(guardian[..^1]);

        // A grantor no consent records, or a unit no consent names: the same 200 as any, nothing reached, nothing stored.
        var stranger = good.DeepClone().AsObject();
        stranger["grantorId"] = HubFixture.NewAdult();
        var strangerAnswer = await bvc.PostAsJsonAsync(CustodyPath, stranger, Ct);
        strangerAnswer.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await strangerAnswer.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("consents").GetArrayLength().ShouldBe(0);

        var otherUnit = good.DeepClone().AsObject();
        otherUnit["recordingUnit"] = DemoRequests.SocialServicesUnit;
        (await bvc.PostAsJsonAsync(CustodyPath, otherUnit, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden, "the client does not act for that unit");

        var unnamed = good.DeepClone().AsObject();
        unnamed["recordingUnit"] = "rosengard-oppna-forskolan";
        unnamed["recordedBy"] = "SE2321000016-FSK1";
        var unnamedAnswer = await preschool.PostAsJsonAsync(CustodyPath, unnamed, Ct);
        unnamedAnswer.StatusCode.ShouldBe(HttpStatusCode.OK, "a unit the consent does not name learns nothing");
        (await unnamedAnswer.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("consents").GetArrayLength().ShouldBe(0);

        // Nothing was stored by any of these: the consent still permits.
        var permitted = await SubmitAsync(bvc, subject, Both);
        await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{permitted}", "Delivered");
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        await AcknowledgeAsync(social, [permitted]);
    }

    [Fact]
    public async Task Narrow_WhileReferralsAreInFlight_LeavesNothingUncoveredUnfetched()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var (consentId, consent) = await RecordAsync(bvc, subject);

        var race = await RaceAsync(subject, () => NarrowAsync(social, consentId, consent));

        race.AssertNothingUncoveredSurvivesUnfetched(consentId, race.Uncovered);
        race.Covered.ShouldAllBe(id => race.Statuses[id] == "Delivered", "a delivery the narrowed consent still covers is never withdrawn");
        race.CoveredAfter.ShouldAllBe(id => race.Statuses[id] == "Delivered", "what the narrowed consent covers is still permitted");
    }

    [Fact]
    public async Task CustodyChange_WhileReferralsAreInFlight_LeavesNothingUncoveredUnfetched()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var guardian = HubFixture.NewAdult();
        var (consentId, _) = await RecordAsync(bvc, subject, guardian);

        var race = await RaceAsync(subject, () => social.PostAsJsonAsync(
            CustodyPath, Custody(subject, guardian, DemoRequests.SocialServicesUnit, "SE2321000016-SOC1"), Ct));

        // Nothing the consent let through rests on anything but the former guardian's yes: every delivery loses its cover.
        race.AssertNothingUncoveredSurvivesUnfetched(consentId, race.Uncovered.Concat(race.Covered).ToList());
        race.CoveredAfter.ShouldAllBe(id => race.Statuses[id] == "Refused", "nothing rests on the former guardian's yes any more");
    }

    /// <summary>
    /// Referrals stream in while the receiving system keeps fetching, and the change lands mid-stream. Uncovered ones
    /// carry both categories (which neither change leaves covered); covered ones only parenting support.
    /// </summary>
    private async Task<Race> RaceAsync(string subject, Func<Task<HttpResponseMessage>> change)
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var fetched = new ConcurrentDictionary<Guid, bool>();
        var paused = false;
        using var stopFetching = new CancellationTokenSource();
        var fetcher = Task.Run(async () =>
        {
            string? after = null;
            while (!stopFetching.IsCancellationRequested)
            {
                if (paused)
                {
                    await Task.Delay(20, Ct);
                    continue;
                }

                var page = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?limit=5{(after is null ? "" : "&after=" + after)}", Ct);
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    after = item.GetProperty("cursor").GetString();
                    if (item.GetProperty("subjectId").GetString() == subject)
                    {
                        fetched[item.GetProperty("messageId").GetGuid()] = true;
                    }
                }

                await Task.Delay(200, Ct);
            }
        }, Ct);

        var race = new Race(fetched);
        for (var i = 0; i < 10; i++)
        {
            race.Uncovered.Add(await SubmitAsync(bvc, subject, Both));
            race.Covered.Add(await SubmitAsync(bvc, subject, Support));
            await Task.Delay(10, Ct);
        }

        // A backlog the receiving system has not fetched when the change lands, whatever the machine's speed.
        paused = true;
        var backlog = new List<Guid>();
        for (var i = 0; i < 15; i++)
        {
            backlog.Add(await SubmitAsync(bvc, subject, Both));
            race.Covered.Add(await SubmitAsync(bvc, subject, Support));
        }

        foreach (var id in backlog)
        {
            await HubFixture.WaitForStatusAsync(bvc, $"{SentPath}/{id}", "Delivered");
        }

        race.Uncovered.AddRange(backlog);
        paused = false;
        var changing = change();
        for (var i = 0; i < 15; i++)
        {
            race.Uncovered.Add(await SubmitAsync(bvc, subject, Both)); // racing the change: either outcome is lawful
        }

        var response = await changing;
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        for (var i = 0; i < 10; i++)
        {
            race.UncoveredAfter.Add(await SubmitAsync(bvc, subject, Both));
            race.CoveredAfter.Add(await SubmitAsync(bvc, subject, Support));
        }

        var all = race.Uncovered.Concat(race.Covered).Concat(race.UncoveredAfter).Concat(race.CoveredAfter).ToList();
        race.Statuses = await WaitForFinalStatusesAsync(bvc, all);
        await Task.Delay(500, Ct); // let the fetcher observe anything it still could, then stop it
        await stopFetching.CancelAsync();
        await fetcher.WaitAsync(TimeSpan.FromSeconds(10), Ct).ContinueWith(_ => { }, Ct);
        race.Noticed = (await social.GetFromJsonAsync<JsonElement>(NoticesPath, Ct)).EnumerateArray().ToList();
        foreach (var id in all.Where(id => race.Statuses[id] == "Withdrawn"))
        {
            (await social.GetAsync($"{DemoRequests.InboxPath}/{id}", Ct)).StatusCode.ShouldBe(HttpStatusCode.NotFound, "a withdrawn body is gone from the inbox");
        }

        await AcknowledgeAsync(social, all.Where(id => race.Statuses[id] == "Delivered"));
        TestContext.Current.TestOutputHelper?.WriteLine(
            "uncovered before the change: " + string.Join(", ", race.Uncovered.GroupBy(id => race.Statuses[id]).Select(g => $"{g.Key} {g.Count()}")));
        return race;
    }

    private sealed class Race(ConcurrentDictionary<Guid, bool> fetched)
    {
        public List<Guid> Uncovered { get; } = [];
        public List<Guid> Covered { get; } = [];
        public List<Guid> UncoveredAfter { get; } = [];
        public List<Guid> CoveredAfter { get; } = [];
        public Dictionary<Guid, string> Statuses { get; set; } = [];
        public List<JsonElement> Noticed { get; set; } = [];

        /// <summary>No delivery the consent in force at its decision did not cover survives unfetched.</summary>
        public void AssertNothingUncoveredSurvivesUnfetched(Guid consentId, IReadOnlyList<Guid> uncovered)
        {
            var noticed = Noticed
                .Where(n => n.GetProperty("consentId").GetGuid() == consentId)
                .SelectMany(n => n.GetProperty("messageIds").EnumerateArray().Select(m => m.GetGuid()))
                .ToHashSet();
            UncoveredAfter.ShouldAllBe(id => Statuses[id] == "Refused", "nothing the change no longer covers is permitted after it");
            foreach (var id in uncovered)
            {
                switch (Statuses[id])
                {
                    case "Delivered":
                        fetched.ShouldContainKey(id, "a delivery left in the inbox was fetched before the change");
                        noticed.ShouldContain(id, "the receiving system is told of everything it fetched that the change no longer covers");
                        break;
                    case "Withdrawn":
                        fetched.ShouldNotContainKey(id, "a withdrawn delivery never reached the receiving system");
                        break;
                    case "Refused":
                        fetched.ShouldNotContainKey(id);
                        break;
                    default:
                        throw new ShouldAssertException($"message {id} ended {Statuses[id]}");
                }
            }

            uncovered.Select(id => Statuses[id]).ShouldContain("Withdrawn", "some deliveries were still unfetched at the change");
            noticed.ShouldBe(uncovered.Where(id => Statuses[id] == "Delivered").ToHashSet(), ignoreOrder: true);
        }
    }

    private static async Task<(Guid Id, JsonObject Consent)> RecordAsync(
        HttpClient bvc, string subject, string? guardian = null, DateTimeOffset? validUntil = null)
    {
        var consent = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow))!.AsObject();
        if (validUntil is not null)
        {
            consent["validUntil"] = validUntil;
        }

        if (guardian is not null)
        {
            consent["grantors"] = JsonSerializer.SerializeToNode(new[] { new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes", identityNumber = guardian } });
        }

        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, consent, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return ((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid(), consent);
    }

    /// <summary>The first version as the receiver, social services, would send it back changed.</summary>
    private static JsonObject SocialServicesChange(JsonObject consent)
    {
        var changed = consent.DeepClone().AsObject();
        changed["expectedVersion"] = 1;
        changed["recordingUnit"] = DemoRequests.SocialServicesUnit;
        changed["recordedBy"] = "SE2321000016-SOC1";
        return changed;
    }

    /// <summary>The guardian limits the consent to parenting support: a receiving unit may narrow, so the receiver records it.</summary>
    private static Task<HttpResponseMessage> NarrowAsync(HttpClient social, Guid consentId, JsonObject consent)
    {
        var narrowed = SocialServicesChange(consent);
        narrowed["categories"] = new JsonArray("ParentingSupport");
        narrowed["changeReason"] = "Vårdnadshavaren begränsar samtycket till föräldrastöd";
        return social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{consentId}", narrowed, Ct);
    }

    /// <summary>
    /// What a test leaves delivered is acknowledged, as a receiving system would: an inbox page lists every item not yet
    /// acknowledged, and a long tail of them would slow the other races' fetchers past what they expect.
    /// </summary>
    private static async Task AcknowledgeAsync(HttpClient social, IEnumerable<Guid> ids)
    {
        foreach (var id in ids)
        {
            (await social.PostAsync($"{DemoRequests.InboxPath}/{id}/acknowledge", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }
    }

    private static JsonObject Custody(string subject, string guardian, string unit, string recordedBy) => new()
    {
        ["subjectId"] = subject,
        ["grantorId"] = guardian,
        ["recordingUnit"] = unit,
        ["recordedBy"] = recordedBy,
        ["journalReference"] = "Beslut om vårdnad, anteckning 7",
    };


    private static async Task<Guid> SubmitAsync(HttpClient bvc, string subject, string kind)
    {
        var referral = new
        {
            receivingUnit = DemoRequests.SocialServicesUnit,
            subjectId = subject,
            categories = kind == Both ? new[] { "FamilySituation", "ParentingSupport" } : ["ParentingSupport"],
            reason = "Föräldrarna önskar stöd i föräldraskapet; överenskommet vid hembesök.",
            actingUser = "SE2321000016-BVC1",
        };
        var response = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, referral, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
    }

    private static async Task<string> StatusAsync(HttpClient bvc, Guid id, bool final = false)
    {
        if (final)
        {
            var finals = new HashSet<string> { "Refused", "Withdrawn", "Delivered", "Acknowledged" };
            var last = await Eventually.MatchAsync(
                () => bvc.GetFromJsonAsync<JsonElement>($"{SentPath}/{id}", Ct), s => finals.Contains(s.GetProperty("status").GetString()!),
                TimeSpan.FromSeconds(30), _ => $"message {id} reached no final status", cancellationToken: Ct);
            return last.GetProperty("status").GetString()!;
        }

        return (await bvc.GetFromJsonAsync<JsonElement>($"{SentPath}/{id}", Ct)).GetProperty("status").GetString()!;
    }

    /// <summary>Delivered counts as final only once the change has had its chance to withdraw it (a sweep the fast path
    /// missed runs within seconds), so the statuses are read again after a pause.</summary>
    private static async Task<Dictionary<Guid, string>> WaitForFinalStatusesAsync(HttpClient bvc, List<Guid> ids)
    {
        var final = new HashSet<string> { "Refused", "Withdrawn", "Delivered", "Acknowledged" };
        async Task<Dictionary<Guid, string>> ReadAsync()
        {
            Dictionary<Guid, string> seen = [];
            foreach (var id in ids)
            {
                seen[id] = (await bvc.GetFromJsonAsync<JsonElement>($"{SentPath}/{id}", Ct)).GetProperty("status").GetString()!;
            }

            return seen;
        }

        await Eventually.MatchAsync(
            ReadAsync, seen => seen.Values.All(final.Contains), TimeSpan.FromSeconds(30),
            last => $"not all messages reached a final status: {string.Join(", ", (last ?? []).Values.GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}"))}",
            cancellationToken: Ct);
        await Task.Delay(3000, Ct);
        return await ReadAsync();
    }
}
