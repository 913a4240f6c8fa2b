using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Sending;

namespace FamiljecentralHub.Operations.Tests;

/// <summary>
/// The Idempotency-Key at the edge (draft-ietf-httpapi-idempotency-key-header; docs/design-decisions.md): which keys are
/// taken, and the fingerprint that binds a key to one request.
/// </summary>
public sealed class IdempotencyKeyTests
{
    [Theory]
    [InlineData("k")]
    [InlineData("8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("a key with spaces and ~!@#$%^&*()")]
    public void Problem_PrintableAsciiUpTo255_IsNone(string key)
    {
        IdempotencyKey.Problem(key).ShouldBeNull();
        IdempotencyKey.Problem(new string('k', 255)).ShouldBeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\tinside")]
    [InlineData("new\nline")]
    [InlineData("nul\0")]
    [InlineData("del\u007f")]
    [InlineData("å")]
    [InlineData("emoji\U0001F600")]
    public void Problem_EmptyOrNotPrintableAscii_IsAProblemThatDoesNotRepeatTheKey(string key)
    {
        var problem = IdempotencyKey.Problem(key);

        problem.ShouldNotBeNull();
        if (key.Length > 0)
        {
            problem.ShouldNotContain(key);
        }
    }

    [Fact]
    public void Problem_LongerThan255_IsAProblem()
    {
        IdempotencyKey.Problem(new string('k', 256)).ShouldNotBeNull();
    }

    private static SubmitDisclosure Message() => new()
    {
        MessageId = DisclosureSender.MessageIdFor("rosengard-bvc", "k-1"),
        SendingUnit = "rosengard-bvc",
        ReceivingUnit = "rosengard-socialtjanst",
        Purpose = Purpose.Referral,
        Categories = [InformationCategory.FamilySituation],
        SubjectId = "202403152388",
        Content = """{"reason":"Stöd."}""",
        ActingSystem = "bvc-ehr",
        ActingUser = "SE2321000016-BVC1",
        SubmittedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public void Fingerprint_TheSameRequestLater_IsTheSame()
    {
        IdempotencyKey.Fingerprint("referrals", Message()).ShouldBe(
            IdempotencyKey.Fingerprint("referrals", Message() with { SubmittedAt = DateTimeOffset.UtcNow.AddMinutes(5) }));
    }

    [Fact]
    public void Fingerprint_AnotherRoute_IsAnother()
    {
        IdempotencyKey.Fingerprint("joint-plans", Message()).ShouldNotBe(IdempotencyKey.Fingerprint("referrals", Message()));
    }

    [Fact]
    public void Fingerprint_AnotherReceiverSubjectContentOrUser_IsAnother()
    {
        var original = IdempotencyKey.Fingerprint("referrals", Message());

        IdempotencyKey.Fingerprint("referrals", Message() with { ReceivingUnit = "rosengard-oppna-forskolan" }).ShouldNotBe(original);
        IdempotencyKey.Fingerprint("referrals", Message() with { SubjectId = "202403162387" }).ShouldNotBe(original);
        IdempotencyKey.Fingerprint("referrals", Message() with { Content = """{"reason":"Annat."}""" }).ShouldNotBe(original);
        IdempotencyKey.Fingerprint("referrals", Message() with { ActingUser = "SE2321000016-BVC2" }).ShouldNotBe(original);
        IdempotencyKey.Fingerprint("referrals", Message() with { ClaimedBasis = new ClaimedBasis { Basis = "report-of-concern" } }).ShouldNotBe(original);
    }
}
