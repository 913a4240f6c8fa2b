using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.Operations.Sending;
using FamiljecentralHub.Topology;
using MassTransit.Testing;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>
/// The operation services' sending API over HTTP, in one service hosted in memory (<see cref="ChildHealthService"/>):
/// what is accepted, what is refused, and that a refusal sends nothing, stores nothing and repeats no personal data.
/// The demo's referral (BVC Rosengård to preventive social services) as the gateway forwards it.
/// </summary>
public sealed class SendingApiTests(ChildHealthService service) : IClassFixture<ChildHealthService>
{
    private const string Unit = DemoRequests.ChildHealthUnit;
    private const string Client = DemoRequests.ChildHealthClient;
    private const string ReferralPath = $"/units/{Unit}/referrals";

    private static int nextSubject = Random.Shared.Next(0, 100_000);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient Caller() => service.Client(Client, [Unit]);

    [Fact]
    public async Task Referral_Valid_IsAcceptedWithAnIdAndSentToTheGateOnce()
    {
        var subject = NewSubject();

        using var response = await Caller().PostAsJsonAsync(ReferralPath, DemoRequests.Referral(subject), Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var accepted = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/{ChildHealthService.Name}/units/{Unit}/sent/{accepted}");
        (await service.Harness.Sent.Any<SubmitDisclosure>(m => m.Context.Message.MessageId == accepted, Ct)).ShouldBeTrue();
        var (destination, submission, headers) = service.Submissions.For(subject).ShouldHaveSingleItem();
        destination.AbsolutePath.ShouldEndWith(Queues.SubmissionExchangeOf(ChildHealthService.Name));
        (submission.MessageId, submission.SendingUnit, submission.ReceivingUnit, submission.Purpose, submission.ActingSystem)
            .ShouldBe((accepted, Unit, DemoRequests.SocialServicesUnit, Purpose.Referral, Client));
        headers.Values.Select(v => v?.ToString() ?? "").ShouldAllBe(v => !HoldsTheNumber(v, subject));
        // The sender's status view knows the subject only by its pseudonym.
        var stored = await SentRowAsync(accepted);
        stored.Pseudonym.ShouldBe(service.Pseudonyms.For(subject));
        HoldsTheNumber(stored.Row, subject).ShouldBeFalse();
    }

    [Fact]
    public async Task Referral_TheSameKeyAndBodyAgain_GetsTheSameIdAndIsNotSentAgain()
    {
        var subject = NewSubject();
        var key = NewKey();

        var first = await SubmitAsync(DemoRequests.Referral(subject), key);
        var again = await SubmitAsync(DemoRequests.Referral(subject), key);

        first.Status.ShouldBe(HttpStatusCode.Accepted);
        again.Status.ShouldBe(HttpStatusCode.Accepted);
        again.Body.GetProperty("messageId").GetGuid().ShouldBe(first.Body.GetProperty("messageId").GetGuid());
        service.Submissions.For(subject).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Referral_TheSameKeyWithAnotherBody_Is422AndTheOtherBodyIsNotSent()
    {
        var subject = NewSubject();
        var other = NewSubject();
        var key = NewKey();
        (await SubmitAsync(DemoRequests.Referral(subject), key)).Status.ShouldBe(HttpStatusCode.Accepted);

        var reused = await SubmitAsync(DemoRequests.Referral(other), key);

        ShouldBeAProblem(reused, HttpStatusCode.UnprocessableEntity, subject, key);
        HoldsTheNumber(reused.Text, other).ShouldBeFalse();
        service.Submissions.For(subject).ShouldHaveSingleItem();
        await NothingSentOrStoredAsync(other, key: null);
    }

    [Theory]
    [InlineData("broken JSON")]
    [InlineData("a field of the wrong type")]
    [InlineData("an unknown category")]
    [InlineData("a wrong check digit")]
    [InlineData("no reason")]
    [InlineData("null")]
    public async Task Referral_MalformedBody_Is400RepeatingNothingAndNothingIsSentOrStored(string malformed)
    {
        var subject = NewSubject();
        var wrongCheckDigit = $"{subject[..^1]}{(subject[^1] - '0' + 1) % 10}";
        var body = malformed switch
        {
            "broken JSON" => $$"""{"receivingUnit":"rosengard-socialtjanst","subjectId":"{{subject}}","reason":""",
            "a field of the wrong type" => $$"""{"receivingUnit":"rosengard-socialtjanst","subjectId":{"number":"{{subject}}"},"categories":["FamilySituation"],"reason":"Stöd.","actingUser":"SE2321000016-BVC1"}""",
            "an unknown category" => $$"""{"receivingUnit":"rosengard-socialtjanst","subjectId":"{{subject}}","categories":["{{subject}}"],"reason":"Stöd.","actingUser":"SE2321000016-BVC1"}""",
            "a wrong check digit" => $$"""{"receivingUnit":"rosengard-socialtjanst","subjectId":"{{wrongCheckDigit}}","categories":["FamilySituation"],"reason":"Stöd.","actingUser":"SE2321000016-BVC1"}""",
            "no reason" => $$"""{"receivingUnit":"rosengard-socialtjanst","subjectId":"{{subject}}","categories":["FamilySituation"],"actingUser":"SE2321000016-BVC1"}""",
            _ => "null",
        };
        var key = NewKey();

        var refused = await SubmitAsync(body, key);

        ShouldBeAProblem(refused, HttpStatusCode.BadRequest, subject, key, wrongCheckDigit);
        await NothingSentOrStoredAsync(subject, key);
    }

    // An empty key is refused too, but a header without a value does not reach a service hosted in memory; the
    // end-to-end suite sends it over the wire (PermitBindingTests).
    [Theory]
    [InlineData("a control character:\t")]
    [InlineData("printable ASCII only: å")]
    [InlineData("far too long: ")]
    public async Task Referral_BadIdempotencyKey_Is400RepeatingNothingAndNothingIsSentOrStored(string key)
    {
        var subject = NewSubject();
        // A client may put anything in the key, an identity number too: the answer must not repeat it.
        key += subject + (key.StartsWith("far", StringComparison.Ordinal) ? new string('x', IdempotencyKey.MaxLength) : "");

        var refused = await SubmitAsync(DemoRequests.Referral(subject), key);

        ShouldBeAProblem(refused, HttpStatusCode.BadRequest, subject, key);
        refused.Body.GetProperty("errors").TryGetProperty(IdempotencyKey.Header, out _).ShouldBeTrue();
        await NothingSentOrStoredAsync(subject, key: null);
    }

    [Fact]
    public async Task Referral_TwoIdempotencyKeys_Is400AndNothingIsSent()
    {
        var subject = NewSubject();
        using var request = new HttpRequestMessage(HttpMethod.Post, ReferralPath) { Content = JsonContent.Create(DemoRequests.Referral(subject)) };
        request.Headers.Add(IdempotencyKey.Header, [NewKey(), NewKey()]);

        using var response = await Caller().SendAsync(request, Ct);

        ShouldBeAProblem(await ReadAsync(response), HttpStatusCode.BadRequest, subject);
        await NothingSentOrStoredAsync(subject, key: null);
    }

    public enum CallerCase
    {
        NoToken,
        TokenForAnotherService,
        TokenForAnotherUnit,
    }

    [Theory]
    [InlineData(CallerCase.NoToken, HttpStatusCode.Unauthorized)]
    [InlineData(CallerCase.TokenForAnotherService, HttpStatusCode.Unauthorized)]
    [InlineData(CallerCase.TokenForAnotherUnit, HttpStatusCode.Forbidden)]
    public async Task Referral_WithoutAValidCallerForTheUnit_IsRefusedAndNothingIsSentOrStored(CallerCase caller, HttpStatusCode expected)
    {
        var subject = NewSubject();
        var key = NewKey();
        var client = caller switch
        {
            CallerCase.NoToken => service.Client(clientId: null),
            CallerCase.TokenForAnotherService => service.Client(Client, [Unit], audience: Catalogue.MaternityCare.Name),
            _ => service.Client("solglantan-ehr", ["solglantan-bvc"]),
        };

        var refused = await SubmitAsync(DemoRequests.Referral(subject), key, client);

        ShouldBeAProblem(refused, expected, subject, key);
        await NothingSentOrStoredAsync(subject, key);
    }

    /// <summary>
    /// The gate would refuse it (the intake unit takes reports of concern and care handovers only, AcceptedPurposes):
    /// the sender says so at once and does not submit a message that can never be permitted.
    /// </summary>
    [Fact]
    public async Task Referral_ToAUnitThatDoesNotTakeReferrals_IsRefusedBeforeItIsSent()
    {
        var subject = NewSubject();
        var key = NewKey();
        var referral = JsonSerializer.SerializeToElement(DemoRequests.Referral(subject));
        var toIntake = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(referral)!;
        toIntake["receivingUnit"] = JsonSerializer.SerializeToElement("malmo-mottagning");

        var refused = await SubmitAsync(toIntake, key);

        ShouldBeAProblem(refused, HttpStatusCode.BadRequest, subject, key);
        refused.Body.GetProperty("errors").GetProperty("receivingUnit")[0].GetString()
            .ShouldBe("the intake unit takes reports of concern and care handovers, not a referral");
        await NothingSentOrStoredAsync(subject, key);
    }

    private static string NewSubject() => DemoIdentityNumbers.Child(Interlocked.Increment(ref nextSubject));

    private static string NewKey() => $"k-{Guid.NewGuid():N}";

    private sealed record Answer(HttpStatusCode Status, string? ContentType, string Text, JsonElement Body);

    private async Task<Answer> SubmitAsync(object body, string? key, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ReferralPath)
        {
            Content = body is string raw ? new StringContent(raw, Encoding.UTF8, "application/json") : JsonContent.Create(body),
        };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(IdempotencyKey.Header, key).ShouldBeTrue();
        }

        using var response = await (client ?? Caller()).SendAsync(request, Ct);
        return await ReadAsync(response);
    }

    private static async Task<Answer> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        return new(response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    /// <summary>
    /// A ProblemDetails with the status, holding none of <paramref name="notRepeated"/> (what the request carried) and not
    /// the subject's number in any spelling.
    /// </summary>
    private static void ShouldBeAProblem(Answer answer, HttpStatusCode status, string subject, params string[] notRepeated)
    {
        answer.Status.ShouldBe(status, answer.Text);
        answer.ContentType.ShouldBe("application/problem+json");
        answer.Body.GetProperty("status").GetInt32().ShouldBe((int)status);
        HoldsTheNumber(answer.Text, subject).ShouldBeFalse(answer.Text);
        foreach (var value in notRepeated.Where(v => v.Length >= 4))
        {
            answer.Text.ShouldNotContain(value, Case.Sensitive);
        }
    }

    /// <summary>The number in any of its spellings: 12 digits, 10 digits, with the dash.</summary>
    private static bool HoldsTheNumber(string text, string subject) =>
        text.Contains(subject[2..], StringComparison.Ordinal) || text.Contains($"{subject[2..8]}-{subject[8..]}", StringComparison.Ordinal);

    private async Task NothingSentOrStoredAsync(string subject, string? key)
    {
        service.Submissions.For(subject).ShouldBeEmpty();
        await using var connection = await service.Db.OpenConnectionAsync(Ct);
        (await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM sent_messages WHERE subject_pseudonym = @Pseudonym", new { Pseudonym = service.Pseudonyms.For(subject) }))
            .ShouldBe(0);
        if (key is not null)
        {
            (await connection.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM idempotency_keys WHERE message_id = @Id", new { Id = DisclosureSender.MessageIdFor(Unit, key) }))
                .ShouldBe(0);
        }
    }

    private async Task<(string Pseudonym, string Row)> SentRowAsync(Guid messageId)
    {
        await using var connection = await service.Db.OpenConnectionAsync(Ct);
        return await connection.QuerySingleAsync<(string, string)>(
            "SELECT subject_pseudonym, row_to_json(s)::text FROM sent_messages s WHERE message_id = @messageId", new { messageId });
    }
}
