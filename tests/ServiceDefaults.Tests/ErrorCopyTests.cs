using System.Text;
using System.Text.Json;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Operations.Tests;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using MassTransit;
using Microsoft.Extensions.Options;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>What the errors command shows of a parked message: metadata, the subject as its pseudonym, nothing else.</summary>
public sealed class ErrorCopyTests
{
    private const string Content = """{"reason":"Familjen har berättat om oro hemma."}""";

    private static readonly Pseudonymizer Pseudonyms = new(Options.Create(new PseudonymOptions { Key = Convert.ToBase64String(new byte[32]) }));

    private static readonly Guid MessageId = Guid.CreateVersion7();

    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private const string Queue = "consent-gate_error";

    private static SubmitDisclosure Submission(string sendingUnit = "bvc") => new()
    {
        MessageId = MessageId,
        SendingUnit = sendingUnit,
        ReceivingUnit = "social",
        Purpose = Purpose.Referral,
        Categories = [InformationCategory.FamilySituation],
        SubjectId = TestOrganisation.Child,
        Content = Content,
        ActingSystem = "bvc-ehr",
        ActingUser = "Anna Andersson",
        SubmittedAt = Now,
    };

    private static byte[] Envelope(object message) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        messageId = MessageId,
        messageType = new[] { MessageUrn.ForTypeString<SubmitDisclosure>() },
        message,
    }, JsonSerializerOptions.Web);

    private static Dictionary<string, object?> FaultHeaders() => new()
    {
        [MessageHeaders.FaultExceptionType] = Encoding.UTF8.GetBytes("Npgsql.PostgresException"),
        [MessageHeaders.FaultTimestamp] = Encoding.UTF8.GetBytes("2026-11-22T10:00:00.0000000Z"),
        [MessageHeaders.FaultRetryCount] = 5,
        [MessageHeaders.FaultMessage] = Encoding.UTF8.GetBytes($"23514: failing row contains {TestOrganisation.Child}"),
        [WayIn.Header] = Encoding.UTF8.GetBytes("submissions.child-health"),
        [FaultReason.Header] = Encoding.UTF8.GetBytes("Npgsql.PostgresException: SQLSTATE 23514 CheckViolation"),
        ["X-Note"] = Encoding.UTF8.GetBytes(TestOrganisation.Child),
    };

    [Fact]
    public void Describe_ParkedSubmission_ShowsItsMetadataAndTheSubjectAsItsPseudonym()
    {
        var copy = ErrorCopy.Describe(Queue, MessageId.ToString(), FaultHeaders(), Envelope(Submission()), Pseudonyms, TestOrganisation.Registry);

        copy.ShouldBe(new ErrorCopy(
            MessageId.ToString(), "SubmitDisclosure", "bvc", "social", "Referral", Pseudonyms.For(TestOrganisation.Child),
            "Npgsql.PostgresException", "2026-11-22T10:00:00.0000000+00:00", "5", "submissions.child-health", Queue,
            "Npgsql.PostgresException: SQLSTATE 23514 CheckViolation"));
    }

    /// <summary>A receiver's parked delivery is described by the disclosure it carries, as the gate's submission is.</summary>
    [Fact]
    public void Describe_ParkedDelivery_ShowsItsDisclosuresMetadata()
    {
        var delivery = new DeliverDisclosure { Disclosure = Submission(), Basis = "consent", PermittedAt = Now };
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            messageId = MessageId,
            messageType = new[] { MessageUrn.ForTypeString<DeliverDisclosure>() },
            message = delivery,
        }, JsonSerializerOptions.Web);

        var copy = ErrorCopy.Describe("social-services-deliveries_error", MessageId.ToString(), FaultHeaders(), body, Pseudonyms, TestOrganisation.Registry);

        copy.MessageType.ShouldBe("DeliverDisclosure");
        (copy.SendingUnit, copy.ReceivingUnit, copy.Purpose).ShouldBe(("bvc", "social", "Referral"));
        copy.Subject.ShouldBe(Pseudonyms.For(TestOrganisation.Child));
        copy.Queue.ShouldBe("social-services-deliveries_error");
        copy.ToString().ShouldNotContain(TestOrganisation.Child);
        copy.ToString().ShouldNotContain("oro hemma");
    }

    /// <summary>Several lifecycle events in one message share a sending unit and status: the copy shows the first's metadata.</summary>
    [Fact]
    public void Describe_ParkedLifecycleEvents_ShowsTheFirstChangesMetadata()
    {
        DisclosureStatusChanged Change(Guid id) => new()
        {
            MessageId = id, Status = DisclosureStatus.Acknowledged, SendingUnit = "bvc", ReceivingUnit = "social", Purpose = Purpose.Referral,
            SubjectPseudonym = Pseudonyms.For(TestOrganisation.Child), OccurredAt = Now,
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            messageId = MessageId,
            messageType = new[] { MessageUrn.ForTypeString<DisclosureStatusesChanged>() },
            message = new DisclosureStatusesChanged { Changes = [Change(Guid.NewGuid()), Change(Guid.NewGuid())] },
        }, JsonSerializerOptions.Web);

        var copy = ErrorCopy.Describe("child-health-status_error", MessageId.ToString(), FaultHeaders(), body, Pseudonyms, TestOrganisation.Registry);

        copy.MessageType.ShouldBe("DisclosureStatusesChanged");
        (copy.SendingUnit, copy.ReceivingUnit, copy.Purpose).ShouldBe(("bvc", "social", "Referral"));
        copy.Subject.ShouldBe(Pseudonyms.For(TestOrganisation.Child));
    }

    [Fact]
    public void ToString_ParkedSubmission_HoldsNoIdentityNumberNameOrContent()
    {
        var line = ErrorCopy.Describe(Queue, MessageId.ToString(), FaultHeaders(), Envelope(Submission()), Pseudonyms, TestOrganisation.Registry).ToString();

        line.ShouldNotContain(TestOrganisation.Child);
        line.ShouldNotContain("20240315-2388");
        line.ShouldNotContain("Anna Andersson");
        line.ShouldNotContain("oro hemma");
        line.ShouldNotContain("failing row");
    }

    /// <summary>A forged or corrupt message may carry anything in a unit field: only units the registry knows are shown.</summary>
    [Fact]
    public void Describe_UnitTheRegistryDoesNotKnow_ShowsUnknown()
    {
        var copy = ErrorCopy.Describe(Queue, MessageId.ToString(), FaultHeaders(), Envelope(Submission(sendingUnit: "Anna Andersson, 20240315-2388")), Pseudonyms, TestOrganisation.Registry);

        copy.SendingUnit.ShouldBe(ErrorCopy.Unknown);
        copy.ToString().ShouldNotContain("Anna");
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"messageId":"not-a-guid","message":{"subjectId":"202403152388"}}""")]
    [InlineData("[]")]
    public void Describe_UnreadableBody_ShowsWhatTheHeadersSayAndUnknownForTheRest(string body)
    {
        var copy = ErrorCopy.Describe(Queue, null, FaultHeaders(), Encoding.UTF8.GetBytes(body), Pseudonyms, TestOrganisation.Registry);

        copy.MessageId.ShouldBe(ErrorCopy.Unknown);
        copy.Subject.ShouldBe(ErrorCopy.Unknown);
        copy.Reason.ShouldBe("Npgsql.PostgresException: SQLSTATE 23514 CheckViolation");
        copy.ToString().ShouldNotContain(TestOrganisation.Child);
    }

    /// <summary>A copy parked before the gate stamped error copies: no way in, no reason, and nothing else shown instead.</summary>
    [Fact]
    public void Describe_WithoutTheGatesStamps_ShowsThemAsUnknown()
    {
        var headers = FaultHeaders();
        headers.Remove(WayIn.Header);
        headers.Remove(FaultReason.Header);

        var copy = ErrorCopy.Describe(Queue, MessageId.ToString(), headers, Envelope(Submission()), Pseudonyms, TestOrganisation.Registry);

        copy.WayIn.ShouldBe(ErrorCopy.Unknown);
        copy.Reason.ShouldBe("not recorded");
    }
}
