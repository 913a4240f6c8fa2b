using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Issue 10, finding 2 and the consent side of finding 5, and issue 18, tried as a hostile client would, through the
/// gateway: a consent is written (or widened) only by a unit that discloses under it; a receiving unit may only revoke or
/// narrow, and reads no more than it needs; every version is in the ledger; bad input is a bounded 400 that echoes nothing.
/// </summary>
public sealed class ConsentAuthorityTests(HubFixture hub)
{
    private const string Bvc = DemoRequests.ChildHealthUnit;
    private const string Social = DemoRequests.SocialServicesUnit;
    private const string Preschool = "rosengard-oppna-forskolan";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonObject ConsentBody(string subject, string from, string to, string recordingUnit, params object[] grantors)
    {
        var body = JsonSerializer.SerializeToNode(DemoRequests.Consent(subject, DateTimeOffset.UtcNow))!.AsObject();
        body["sendingUnits"] = new JsonArray(from);
        body["receivingUnits"] = new JsonArray(to);
        body["recordingUnit"] = recordingUnit;
        if (grantors.Length > 0)
        {
            body["grantors"] = JsonSerializer.SerializeToNode(grantors);
        }

        return body;
    }

    private static async Task<Guid> RecordAsync(HttpClient client, JsonObject body)
    {
        var response = await client.PostAsJsonAsync(DemoRequests.ConsentPath, body, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
    }

    /// <summary>BVC refers the subject to open preschool, and the gate refuses it: no consent open preschool wrote counts.</summary>
    private static Task ReferralToPreschoolIsRefusedAsync(HttpClient bvc, string subject) => ReferralIsRefusedAsync(bvc, subject, Preschool);

    private static Task ReferralToSocialIsRefusedAsync(HttpClient bvc, string subject) => ReferralIsRefusedAsync(bvc, subject, Social);

    private static async Task ReferralIsRefusedAsync(HttpClient bvc, string subject, string to)
    {
        var referral = await bvc.PostAsJsonAsync($"/child-health/units/{Bvc}/referrals", new
        {
            receivingUnit = to, subjectId = subject, categories = new[] { "FamilySituation" }, reason = "Föräldragrupp.", actingUser = "SE2321000016-BVC1",
        }, Ct);
        referral.StatusCode.ShouldBe(HttpStatusCode.Accepted, await referral.Content.ReadAsStringAsync(Ct));
        var statusUrl = (await referral.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("statusUrl").GetString()!;
        await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Refused");
    }

    [Fact]
    public async Task Record_ByTheReceivingUnit_Is403AndTheSendersReferralIsRefused()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();

        // Open preschool writes the consent that would let BVC disclose to it: as its own unit, and as BVC's.
        var asItself = await preschool.PostAsJsonAsync(DemoRequests.ConsentPath, ConsentBody(subject, Bvc, Preschool, Preschool), Ct);
        var asBvc = await preschool.PostAsJsonAsync(DemoRequests.ConsentPath, ConsentBody(subject, Bvc, Preschool, Bvc), Ct);

        asItself.StatusCode.ShouldBe(HttpStatusCode.Forbidden, await asItself.Content.ReadAsStringAsync(Ct));
        asBvc.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await asItself.Content.ReadAsStringAsync(Ct)).ShouldNotContain(subject);
        await ReferralToPreschoolIsRefusedAsync(bvc, subject);
    }

    /// <summary>
    /// A receiver that names itself a sending unit too, beside the unit it wants disclosures from, is still not that
    /// unit's discloser: each sending unit's secrecy is broken only by a consent that unit's own system records or widens.
    /// </summary>
    [Fact]
    public async Task Record_OrWiden_NamingAnotherUnitsDisclosures_Is403AndTheSendersReferralIsRefused()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();

        var joint = ConsentBody(subject, Preschool, Preschool, Preschool);
        joint["sendingUnits"] = new JsonArray(Preschool, Bvc);
        var recorded = await preschool.PostAsJsonAsync(DemoRequests.ConsentPath, joint, Ct);
        // Its own consent to disclose to social services, then widened to BVC's disclosures to itself.
        var own = ConsentBody(subject, Preschool, Social, Preschool);
        var id = await RecordAsync(preschool, own);
        var widened = own.DeepClone().AsObject();
        widened["sendingUnits"] = new JsonArray(Preschool, Bvc);
        widened["receivingUnits"] = new JsonArray(Social, Preschool);
        widened["expectedVersion"] = 1;
        var changed = await preschool.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{id}", widened, Ct);

        recorded.StatusCode.ShouldBe(HttpStatusCode.Forbidden, await recorded.Content.ReadAsStringAsync(Ct));
        changed.StatusCode.ShouldBe(HttpStatusCode.Forbidden, await changed.Content.ReadAsStringAsync(Ct));
        (await recorded.Content.ReadAsStringAsync(Ct)).ShouldNotContain(subject);
        await ReferralToPreschoolIsRefusedAsync(bvc, subject);
    }

    /// <summary>
    /// A receiver's change keeps the grantors and their answers as they stand, whatever it sends: a guardian's "no" turned
    /// into a yes, or left out, is not taken, and the gate still refuses; a category more is 403 as for any consent.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_CannotTurnANoIntoYes()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc,
            new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes" }, new { role = "Guardian", name = "Vårdnadshavare 2", answer = "No" });
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";

        var yes = body.DeepClone().AsObject();
        yes["grantors"]![1]!["answer"] = "Yes";
        yes["recordingUnit"] = Social;
        yes["expectedVersion"] = 1;
        var left = body.DeepClone().AsObject();
        left["grantors"] = JsonSerializer.SerializeToNode(new[] { new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes" } });
        left["recordingUnit"] = Social;
        left["expectedVersion"] = 2;

        var more = body.DeepClone().AsObject();
        more["categories"] = new JsonArray("FamilySituation", "ParentingSupport", "ChildHealth");
        more["recordingUnit"] = Social;
        more["expectedVersion"] = 1;

        // A category more is 403, as for a consent without a "no": the answer does not tell the receiver there is one.
        (await social.PutAsJsonAsync(url, more, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await social.PutAsJsonAsync(url, yes, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await social.PutAsJsonAsync(url, left, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        foreach (var version in (await bvc.GetFromJsonAsync<JsonElement>(url + "/history", Ct)).EnumerateArray())
        {
            version.GetProperty("grantors").EnumerateArray().Select(g => g.GetProperty("answer").GetString()).ShouldBe(["Yes", "No"]);
        }

        await ReferralToSocialIsRefusedAsync(bvc, subject);
    }

    /// <summary>
    /// A guardian may withdraw wherever they are: the receiving unit records the other guardian's "no", or a guardian's
    /// answer in part, without seeing who gave the consent, and the gate refuses what they no longer cover.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_RecordingAGuardiansNoOrAnswerInPart_TakesEffectAtTheGate()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        async Task<(string Subject, JsonElement Consent)> RecordAndChangeAsync(object grantor)
        {
            var subject = HubFixture.NewSubject();
            var body = ConsentBody(subject, Bvc, Social, Bvc);
            var id = await RecordAsync(bvc, body);
            var change = body.DeepClone().AsObject();
            change["grantors"] = JsonSerializer.SerializeToNode(new[] { grantor });
            change["recordingUnit"] = Social;
            change["recordedBy"] = "SE2120001579-SOC7";
            change["expectedVersion"] = 1;
            var response = await social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{id}", change, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
            return (subject, await bvc.GetFromJsonAsync<JsonElement>($"{DemoRequests.ConsentPath}/{id}", Ct));
        }

        var (no, withNo) = await RecordAndChangeAsync(new { role = "Guardian", name = "Vårdnadshavare 2", answer = "No" });
        var (inPart, limited) = await RecordAndChangeAsync(
            new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Partial", coveredCategories = new[] { "ParentingSupport" } });

        withNo.GetProperty("grantors").EnumerateArray().Select(g => g.GetProperty("answer").GetString()).ShouldBe(["Yes", "No"]);
        limited.GetProperty("categories").EnumerateArray().Select(c => c.GetString()).ShouldBe(["ParentingSupport"]);
        await ReferralToSocialIsRefusedAsync(bvc, no);
        await ReferralToSocialIsRefusedAsync(bvc, inPart); // FamilySituation, which the answer in part left out
    }

    /// <summary>
    /// A receiver cannot grow a consent without end by recording "no"s change after change: once it holds one, another
    /// adds nothing (the consent already covers nothing), so the grantors every gate decision reads stay bounded.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_RecordingNoAfterNo_DoesNotGrowTheConsent()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var body = ConsentBody(HubFixture.NewSubject(), Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";
        for (var version = 1; version <= 3; version++)
        {
            var change = body.DeepClone().AsObject();
            change["grantors"] = JsonSerializer.SerializeToNode(Enumerable.Range(1, 10).Select(i => new { role = "Guardian", name = $"Vårdnadshavare {i}", answer = "No" }));
            change["recordingUnit"] = Social;
            change["expectedVersion"] = version;
            (await social.PutAsJsonAsync(url, change, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await bvc.GetFromJsonAsync<JsonElement>(url, Ct)).GetProperty("grantors").GetArrayLength().ShouldBe(11, "the yes as recorded and the first change's refusals");
    }

    /// <summary>
    /// A yes given before a guardian's "no" is not relied on again once the "no" has lapsed. A receiver moving the start of
    /// that consent to today (a narrowing, as far as its period goes) made the yes look given after the "no", and the gate
    /// permitted again what the guardian had refused: the consent was given when its first version was.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_MovingTheStartLater_DoesNotLiftALapsedNo()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var no = ConsentBody(subject, Bvc, Social, Bvc, new { role = "Guardian", name = "Vårdnadshavare 2", answer = "No" });
        no["validUntil"] = DateTimeOffset.UtcNow.AddSeconds(2);
        await RecordAsync(bvc, no);
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);

        var later = body.DeepClone().AsObject();
        later["validFrom"] = DateTimeOffset.UtcNow;
        later["recordingUnit"] = Social;
        later["recordedBy"] = "SE2120001579-SOC7";
        later["expectedVersion"] = 1;
        var changed = await social.PutAsJsonAsync($"{DemoRequests.ConsentPath}/{id}", later, Ct);

        changed.StatusCode.ShouldBe(HttpStatusCode.OK, await changed.Content.ReadAsStringAsync(Ct));
        await ReferralToSocialIsRefusedAsync(bvc, subject);
    }

    /// <summary>
    /// Every gate decision about the subject reads its consents, so a unit records at most fifty versions of one: past
    /// that it is told so and may still revoke. Counted per unit, so a receiver that spent its own cannot stop the
    /// discloser's changes, nor the discloser a receiver's narrowing.
    /// </summary>
    [Fact]
    public async Task Change_PastFiftyVersionsFromOneUnit_Is409_AndOtherUnitsAndRevocationStillTake()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var body = ConsentBody(HubFixture.NewSubject(), Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";
        for (var version = 1; version < 50; version++)
        {
            var change = body.DeepClone().AsObject();
            change["expectedVersion"] = version;
            var changed = await bvc.PutAsJsonAsync(url, change, Ct);
            changed.StatusCode.ShouldBe(HttpStatusCode.OK, await changed.Content.ReadAsStringAsync(Ct));
        }

        var fiftyFirst = body.DeepClone().AsObject();
        fiftyFirst["expectedVersion"] = 50;
        var narrower = body.DeepClone().AsObject();
        narrower["categories"] = new JsonArray("ParentingSupport");
        narrower["recordingUnit"] = Social;
        narrower["recordedBy"] = "SE2120001579-SOC7";
        narrower["expectedVersion"] = 50;

        (await bvc.PutAsJsonAsync(url, fiftyFirst, Ct)).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var narrowed = await social.PutAsJsonAsync(url, narrower, Ct);
        narrowed.StatusCode.ShouldBe(HttpStatusCode.OK, await narrowed.Content.ReadAsStringAsync(Ct));
        var revoked = await bvc.PostAsJsonAsync($"{url}/revoke",
            new { recordedBy = "SE2321000016-BVC1", recordingUnit = Bvc, reason = "Vårdnadshavaren återkallar" }, Ct);
        revoked.StatusCode.ShouldBe(HttpStatusCode.OK, await revoked.Content.ReadAsStringAsync(Ct));
        (await revoked.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("version").GetInt32().ShouldBe(52);
    }

    [Fact]
    public async Task Change_ByTheReceivingUnit_MayNarrowAndRevoke()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";

        var narrower = body.DeepClone().AsObject();
        narrower["categories"] = new JsonArray("ParentingSupport");
        narrower["recordingUnit"] = Social;
        narrower["recordedBy"] = "SE2120001579-SOC7";
        narrower["journalReference"] = "Socialtjänstens akt 2026-11-25";
        narrower["expectedVersion"] = 1;
        var narrowed = await social.PutAsJsonAsync(url, narrower, Ct);
        var revoked = await social.PostAsJsonAsync($"{url}/revoke",
            new { recordedBy = "SE2120001579-SOC7", recordingUnit = Social, reason = "Vårdnadshavaren återkallade i samtal" }, Ct);

        narrowed.StatusCode.ShouldBe(HttpStatusCode.OK, await narrowed.Content.ReadAsStringAsync(Ct));
        revoked.StatusCode.ShouldBe(HttpStatusCode.OK, await revoked.Content.ReadAsStringAsync(Ct));
        var history = await bvc.GetFromJsonAsync<JsonElement>(url + "/history", Ct);
        history.GetArrayLength().ShouldBe(3);
        history[2].GetProperty("state").GetString().ShouldBe("Revoked");
        history[1].GetProperty("recordingUnit").GetString().ShouldBe(Social, "each version says who made it");
        // The revocation gave no reference: it is not said to be documented where BVC documented the consent.
        history[2].GetProperty("journalReference").GetString().ShouldBe("not given");
    }

    /// <summary>
    /// A receiver's "no" that names itself the sending unit (and the discloser the receiver), or reaches beyond the consent's
    /// units or purposes, is no narrowing: it is 403 and adds no version, the receiver still reads the minimal view only, and
    /// the discloser still reads its consent whole.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_ARecordedNoBeyondTheConsentsSituation_Is403()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";
        JsonObject No(Action<JsonObject> change)
        {
            var no = ConsentBody(subject, Bvc, Social, Social, new { role = "Guardian", name = "x", answer = "No" });
            no["recordedBy"] = "SE2120001579-SOC7";
            no["journalReference"] = "x";
            no["situation"] = "x";
            no["expectedVersion"] = 1;
            change(no);
            return no;
        }

        var changes = new Dictionary<string, JsonObject>
        {
            ["the receiver as the sending unit"] = No(b => { b["sendingUnits"] = new JsonArray(Social); b["receivingUnits"] = new JsonArray(Bvc); }),
            ["the receiver beside the sending unit"] = No(b => b["sendingUnits"] = new JsonArray(Bvc, Social)),
            ["another receiving unit"] = No(b => b["receivingUnits"] = new JsonArray(Social, Preschool)),
            ["another purpose"] = No(b => b["purposes"] = new JsonArray("Referral", "JointPlan")),
        };

        foreach (var (name, change) in changes)
        {
            var response = await social.PutAsJsonAsync(url, change, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.Forbidden, $"{name}: {await response.Content.ReadAsStringAsync(Ct)}");
        }

        var history = await social.GetFromJsonAsync<JsonElement>(url + "/history", Ct);
        history.GetArrayLength().ShouldBe(1, "a refused change adds no version");
        history.ToString().ShouldNotContain("Vårdnadshavare 1");
        history.ToString().ShouldNotContain("BVC-journal");
        (await social.GetAsync(url + "/fhir", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden, "the receiver never exports the consent");
        (await bvc.GetFromJsonAsync<JsonElement>(url, Ct)).GetProperty("subjectId").GetString().ShouldBe(subject, "the discloser reads its consent whole");
    }

    /// <summary>
    /// A receiver that sends a change with a guessed identity number learns nothing from the answer: its change is of the
    /// consent's own subject whatever the number, so a widening is 403 and a narrowing 200 for the right number and a wrong
    /// one alike, the body's checks echo only what it sent (a grantor numbered as the subject is taken alike: the grantors
    /// stay as they stand), and the consent stays its subject's.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_AnswersAlikeWhateverSubjectItNames()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";
        JsonObject Change(string subjectId, int version, bool widen)
        {
            var change = body.DeepClone().AsObject();
            change["subjectId"] = subjectId;
            change["recordingUnit"] = Social;
            change["expectedVersion"] = version;
            if (widen)
            {
                change["categories"] = new JsonArray("FamilySituation", "ParentingSupport", "ChildHealth");
            }

            return change;
        }

        var other = HubFixture.NewSubject();
        var version = 1;
        foreach (var guess in new[] { subject, other })
        {
            (await social.PutAsJsonAsync(url, Change(guess, version, widen: true), Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden, guess);
            var numbered = Change(HubFixture.NewSubject(), version++, widen: false);
            numbered["grantors"] = JsonSerializer.SerializeToNode(new[] { new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes", identityNumber = guess } });
            (await social.PutAsJsonAsync(url, numbered, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK, $"a grantor numbered {guess}: the grantors stay as they stand");
        }

        foreach (var guess in new[] { other, subject })
        {
            var response = await social.PutAsJsonAsync(url, Change(guess, version++, widen: false), Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{guess}: {await response.Content.ReadAsStringAsync(Ct)}");
        }

        (await bvc.GetFromJsonAsync<JsonElement>(url, Ct)).GetProperty("subjectId").GetString().ShouldBe(subject, "the consent stays its subject's");
        // The discloser itself is told plainly.
        var moved = Change(HubFixture.NewSubject(), version, widen: false);
        moved["recordingUnit"] = Bvc;
        (await bvc.PutAsJsonAsync(url, moved, Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    /// <summary>
    /// A receiver never learns who gave the consent: its change keeps the grantors and whether both guardians must consent
    /// as they stand, so a guess at a grantor's role (a social committee's, under LVU) or number is answered as the right
    /// grantors are, and changes nothing of them; nor does dropping the rule that both guardians must consent.
    /// </summary>
    [Fact]
    public async Task Change_ByTheReceivingUnit_AnswersAlikeWhateverGrantorsItNames_AndKeepsThem()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc,
            new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes" }, new { role = "Guardian", name = "Vårdnadshavare 2", answer = "Yes" });
        body["bothGuardiansRequired"] = true;
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";

        var guesses = new Dictionary<string, object[]>
        {
            ["the grantors as recorded"] = [new { role = "Guardian", name = "Vårdnadshavare 1", answer = "Yes" }, new { role = "Guardian", name = "Vårdnadshavare 2", answer = "Yes" }],
            ["the social committee"] = [new { role = "SocialCommittee", name = "Socialnämnden", answer = "Yes" }],
            ["a guardian by number"] = [new { role = "Guardian", name = "x", answer = "Yes", identityNumber = HubFixture.NewAdult() }],
        };
        var version = 1;
        foreach (var (guess, grantors) in guesses)
        {
            var change = body.DeepClone().AsObject();
            change["grantors"] = JsonSerializer.SerializeToNode(grantors);
            change["bothGuardiansRequired"] = false;
            change["recordingUnit"] = Social;
            change["expectedVersion"] = version++;
            var response = await social.PutAsJsonAsync(url, change, Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{guess}: {await response.Content.ReadAsStringAsync(Ct)}");
        }

        var whole = await bvc.GetFromJsonAsync<JsonElement>(url, Ct);
        whole.GetProperty("version").GetInt32().ShouldBe(4);
        whole.GetProperty("grantors").EnumerateArray().Select(g => g.GetProperty("name").GetString()).ShouldBe(["Vårdnadshavare 1", "Vårdnadshavare 2"]);
        whole.GetProperty("bothGuardiansRequired").GetBoolean().ShouldBeTrue("only a disclosing unit may lift it");
    }

    /// <summary>
    /// A unit added as a receiver by a later version reads only the versions that name it: the earlier ones would tell it
    /// which other units the family had contact with (OSL 26:1).
    /// </summary>
    [Fact]
    public async Task History_ForAUnitAddedLater_HoldsOnlyTheVersionsNamingIt()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var preschool = hub.Client("forskola-system");
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";
        var moved = body.DeepClone().AsObject();
        moved["receivingUnits"] = new JsonArray(Preschool);
        moved["expectedVersion"] = 1;
        var response = await bvc.PutAsJsonAsync(url, moved, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));

        var history = await preschool.GetFromJsonAsync<JsonElement>(url + "/history", Ct);

        history.EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).ShouldBe([2]);
        history.ToString().ShouldNotContain(Social);
        (await bvc.GetFromJsonAsync<JsonElement>(url + "/history", Ct)).GetArrayLength().ShouldBe(2, "the discloser reads every version");
    }

    [Fact]
    public async Task Read_ByAUnitNamedOnlyAsReceiver_GivesTheMinimalViewOnly()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var id = await RecordAsync(bvc, ConsentBody(subject, Bvc, Social, Bvc));
        var url = $"{DemoRequests.ConsentPath}/{id}";

        var view = await social.GetFromJsonAsync<JsonElement>(url, Ct);
        var history = await social.GetFromJsonAsync<JsonElement>(url + "/history", Ct);
        var whole = await bvc.GetFromJsonAsync<JsonElement>(url, Ct);

        foreach (var text in new[] { view.ToString(), history.ToString() })
        {
            text.ShouldNotContain(subject);
            text.ShouldNotContain("Vårdnadshavare 1");
            text.ShouldNotContain("Föräldrastöd efter samtal");
            text.ShouldNotContain("BVC-journal");
            text.ShouldNotContain("SE2321000016-BVC1");
        }

        view.GetProperty("id").GetGuid().ShouldBe(id);
        view.GetProperty("version").GetInt32().ShouldBe(1);
        view.GetProperty("state").GetString().ShouldBe("Active");
        view.GetProperty("purposes")[0].GetString().ShouldBe("Referral");
        view.GetProperty("receivingUnits")[0].GetString().ShouldBe(Social);
        view.TryGetProperty("validUntil", out _).ShouldBeTrue();
        whole.GetProperty("subjectId").GetString().ShouldBe(subject, "the disclosing unit reads its consent whole");
    }

    [Fact]
    public async Task EveryVersion_IsInTheLedger_AsMetadataOnly()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        using var social = hub.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        var body = ConsentBody(subject, Bvc, Social, Bvc);
        var id = await RecordAsync(bvc, body);
        var url = $"{DemoRequests.ConsentPath}/{id}";
        var wider = body.DeepClone().AsObject();
        wider["categories"] = new JsonArray("FamilySituation", "ParentingSupport", "Attendance");
        wider["expectedVersion"] = 1;
        (await bvc.PutAsJsonAsync(url, wider, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var narrower = body.DeepClone().AsObject();
        narrower["categories"] = new JsonArray("ParentingSupport");
        narrower["recordingUnit"] = Social;
        narrower["expectedVersion"] = 2;
        (await social.PutAsJsonAsync(url, narrower, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await social.PostAsJsonAsync($"{url}/revoke", new { recordedBy = "SE2120001579-SOC7", recordingUnit = Social }, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

        await using var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent"));
        var rows = (await connection.QueryAsync<LedgerRow>(
            """
            SELECT kind AS Kind, outcome AS Outcome, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, acting_system AS ActingSystem,
                   acting_user AS ActingUser, subject_pseudonym AS SubjectPseudonym, purpose AS Purpose, array_to_string(categories, ',') AS Categories,
                   array_to_string(reasons, '|') AS Reasons
            FROM ledger WHERE consent_id = @id ORDER BY seq
            """, new { id })).ToList();

        rows.Select(r => r.Kind).ShouldBe(["consent-recorded", "consent-changed", "consent-narrowed", "consent-revoked"]);
        rows.Select(r => r.Outcome).ShouldBe(["version 1", "version 2", "version 3", "version 4"]);
        rows.Select(r => r.ActingSystem).ShouldBe(["bvc-ehr", "bvc-ehr", "socialtjanst-system", "socialtjanst-system"]);
        var pseudonym = new Pseudonymizer(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey })).For(subject);
        rows.ShouldAllBe(r => r.SubjectPseudonym == pseudonym && r.SendingUnit == Bvc && r.ReceivingUnit == Social && r.Purpose == "Referral");
        var all = string.Join("\n", rows.Select(r => JsonSerializer.Serialize(r)));
        all.ShouldNotContain(subject);
        all.ShouldNotContain("Vårdnadshavare");
        all.ShouldNotContain("Föräldrastöd efter samtal");
        all.ShouldNotContain("BVC-journal");
    }

    [Fact]
    public async Task Record_HostileBodies_Get400ProblemDetailsThatEchoNothing()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var subject = HubFixture.NewSubject();
        JsonObject With(Action<JsonObject> change)
        {
            var body = ConsentBody(subject, Bvc, Social, Bvc);
            change(body);
            return body;
        }

        var bodies = new Dictionary<string, HttpContent>
        {
            ["null body"] = new StringContent("null", Encoding.UTF8, "application/json"),
            ["null grantor"] = JsonContent.Create(With(b => b["grantors"] = new JsonArray((JsonNode?)null))),
            ["null unit"] = JsonContent.Create(With(b => b["receivingUnits"] = new JsonArray((JsonNode?)null))),
            ["NUL in situation"] = JsonContent.Create(With(b => b["situation"] = $"Samtal med Anna Svensson\u0000{subject}")),
            ["escape in a name"] = JsonContent.Create(With(b => b["grantors"]![0]!["name"] = "Anna\u001b[31m Svensson")),
            ["identity number as recordedBy"] = JsonContent.Create(With(b => b["recordedBy"] = subject)),
            ["empty recordedBy"] = JsonContent.Create(With(b => b["recordedBy"] = "")),
            ["200 KB recordedBy"] = JsonContent.Create(With(b => b["recordedBy"] = "SE2321000016-" + new string('A', 200_000))),
            ["200 KB situation"] = JsonContent.Create(With(b => b["situation"] = new string('x', 200_000))),
            ["identity number as unit"] = JsonContent.Create(With(b => b["receivingUnits"] = new JsonArray(subject))),
        };

        foreach (var (name, content) in bodies)
        {
            var response = await bvc.PostAsync(DemoRequests.ConsentPath, content, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);

            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, $"{name}: {text}");
            response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", name);
            text.ShouldNotContain(subject, customMessage: name);
            text.ShouldNotContain(subject[2..], customMessage: name);
            text.ShouldNotContain("Svensson", customMessage: name);
            text.Length.ShouldBeLessThan(4_000, name);
        }
    }

    [Fact]
    public async Task Record_60kUnknownUnits_IsABounded400()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var body = ConsentBody(HubFixture.NewSubject(), Bvc, Social, Bvc);
        body["receivingUnits"] = new JsonArray(Enumerable.Range(0, 60_000).Select(i => (JsonNode?)JsonValue.Create($"u{i:D6}")).ToArray());

        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        text.Length.ShouldBeLessThan(4_000, "one problem per list item makes a 900 KB request a 57 MB answer");
        text.ShouldNotContain("u000001");
    }

    /// <summary>
    /// Issue 18: a 16-year-old's own consent to a joint plan is refused when recorded, and one already in the store (written
    /// before the rule) lets no joint plan through the gate.
    /// </summary>
    [Fact]
    public async Task ChildsOwnConsent_ToAJointPlan_IsRefusedWhenRecordedAndAtTheGate()
    {
        using var bvc = hub.Client(DemoRequests.ChildHealthClient);
        var teenager = Teenager(Random.Shared.Next(200, 999));
        var body = ConsentBody(teenager, Bvc, Social, Bvc, new { role = "Subject", name = "Tonåringen själv", answer = "Yes" });
        body["purposes"] = new JsonArray("JointPlan");
        body["categories"] = new JsonArray("FamilySituation", "ParentingSupport", "ChildHealth");

        var response = await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        text.ShouldContain("JointPlan");
        text.ShouldContain("child-own-consent");
        text.ShouldNotContain(teenager);

        // As if recorded before the rule: straight into the store.
        var pseudonyms = new Pseudonymizer(Options.Create(new PseudonymOptions { Key = hub.Hub.PseudonymKey }));
        var now = DateTimeOffset.UtcNow;
        var record = new JsonObject
        {
            ["id"] = Guid.CreateVersion7(), ["version"] = 1, ["state"] = "Active", ["subjectId"] = teenager,
            ["grantors"] = new JsonArray(new JsonObject { ["role"] = "Subject", ["name"] = "Tonåringen själv", ["answer"] = "Yes" }),
            ["bothGuardiansRequired"] = false, ["purposes"] = new JsonArray("JointPlan"), ["sendingUnits"] = new JsonArray(Bvc),
            ["receivingUnits"] = new JsonArray(Social), ["categories"] = new JsonArray("FamilySituation", "ParentingSupport", "ChildHealth"),
            ["validFrom"] = now.AddDays(-1), ["validUntil"] = now.AddMonths(3), ["situation"] = "Gemensam plan", ["journalReference"] = "J-1",
            ["recordedBy"] = "SE2321000016-BVC1", ["recordingUnit"] = Bvc, ["recordedAt"] = now.AddDays(-1),
        };
        await using (var connection = new NpgsqlConnection(hub.Hub.ConnectionString("consent")))
        {
            await connection.ExecuteAsync(
                """
                INSERT INTO consent_versions (consent_id, version, subject_pseudonym, state, record, recorded_at)
                VALUES (@Id, 1, @Pseudonym, 'Active', @Record::jsonb, @At)
                """,
                new { Id = record["id"]!.GetValue<Guid>(), Pseudonym = pseudonyms.For(teenager), Record = record.ToJsonString(), At = now.AddDays(-1) });
        }

        var plan = await bvc.PostAsJsonAsync($"/child-health/units/{Bvc}/joint-plans", new
        {
            receivingUnit = Social, subjectId = teenager, plan = "Samtalsstöd; BVC följer upp.", childHealth = "Sömnsvårigheter.", actingUser = "SE2321000016-BVC1",
        }, Ct);
        plan.StatusCode.ShouldBe(HttpStatusCode.Accepted, await plan.Content.ReadAsStringAsync(Ct));
        var statusUrl = (await plan.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("statusUrl").GetString()!;
        var refused = await HubFixture.WaitForStatusAsync(bvc, statusUrl, "Refused");
        refused.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ShouldContain(r => r!.Contains("child's own consent", StringComparison.Ordinal));
    }

    /// <summary>A made-up 16-year-old: born 16 years and a few months ago, with a correct check digit.</summary>
    private static string Teenager(int serial)
    {
        var birth = DateOnly.FromDateTime(DateTime.UtcNow).AddYears(-16).AddMonths(-3);
        var nine = string.Create(CultureInfo.InvariantCulture, $"{birth:yyMMdd}{serial:000}");
        return string.Create(CultureInfo.InvariantCulture, $"{birth:yyyyMMdd}{serial:000}{DemoIdentityNumbers.CheckDigit(nine)}");
    }

    private sealed record LedgerRow(
        string Kind, string Outcome, string SendingUnit, string ReceivingUnit, string ActingSystem, string? ActingUser, string SubjectPseudonym,
        string Purpose, string Categories, string Reasons);
}
