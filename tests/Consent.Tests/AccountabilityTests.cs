using System.Text.Json;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Fhir;
using FamiljecentralHub.Tests.Support.Fhir;
using Hl7.Fhir.Serialization;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Ledger;
using Microsoft.Extensions.Options;
using Shouldly;
using static FamiljecentralHub.Consent.Tests.TestOrganisation;
using AuditEvent = Hl7.Fhir.Model.AuditEvent;
using ModelInfo = Hl7.Fhir.Model.ModelInfo;

namespace FamiljecentralHub.Consent.Tests;

/// <summary>The accountability requests' validation (named fields, fixed phrases, never a number or a note repeated), the draw, office hours, withholding and the document.</summary>
public sealed class AccountabilityTests
{
    private static readonly AccountabilityValidator Validator = new(Registry);

    private static LogExtractRequest Extract() => new(Child, ExtractRequester.Guardian, false, null, null, "SE2321000016-LOGG1");

    private static FollowUpRequest FollowUp() => new("bvc", Now.AddDays(-30), Now, 10, 42, "SE2321000016-LOGG1");

    private static string Messages(Problems problems) => string.Join(" ", problems.ToDictionary().SelectMany(p => p.Value));

    [Fact]
    public void ValidateExtract_AGoodRequest_GivesTheNumber()
    {
        var (problems, subject) = Validator.ValidateExtract(Extract());

        problems.Any.ShouldBeFalse(Messages(problems));
        subject!.Value.Value.ShouldBe(Child);
    }

    [Fact]
    public void ValidateExtract_BadNumberNoRequesterNoHsaId_NamesTheFieldsAndRepeatsNoNumber()
    {
        var (problems, subject) = Validator.ValidateExtract(Extract() with { SubjectId = "202403152389", Requester = null, RequestedBy = "198503152343" });

        subject.ShouldBeNull();
        problems.ToDictionary().Keys.ShouldBe(["subjectId", "requester", "requestedBy"], ignoreOrder: true);
        Messages(problems).ShouldNotContain("20240315238");
        Messages(problems).ShouldNotContain("19850315234");
    }

    [Fact]
    public void ValidateExtract_AssessedWithoutReference_NamesTheReference()
    {
        var (problems, _) = Validator.ValidateExtract(Extract() with { Assessed = true });

        problems.ToDictionary().Keys.ShouldBe(["assessmentReference"]);
    }

    /// <summary>A child with protected identity is never served by proxy, and the hub keeps no such fact: a guardian's request must say.</summary>
    [Fact]
    public void ValidateExtract_AGuardiansRequestNotSayingWhetherTheChildHasProtectedIdentity_NamesTheField()
    {
        var (problems, _) = Validator.ValidateExtract(Extract() with { ProtectedIdentity = null });
        var (own, _) = Validator.ValidateExtract(Extract() with { Requester = ExtractRequester.Subject, ProtectedIdentity = null });

        problems.ToDictionary().Keys.ShouldBe(["protectedIdentity"]);
        own.Any.ShouldBeFalse("the subject asking for themself is no proxy");
    }

    [Fact]
    public void ValidateExtract_NullBody_IsAProblem() => Validator.ValidateExtract(null).Problems.ToDictionary().Keys.ShouldBe(["body"]);

    [Fact]
    public void ValidateReview_OverLongNoteAndNoReviewer_NamesTheFieldsAndRepeatsNoNote()
    {
        var note = "Granskad: " + new string('x', AccountabilityValidator.MaxNote);

        var problems = Validator.ValidateReview(new ReviewRequest(note, null));

        problems.ToDictionary().Keys.ShouldBe(["note", "reviewedBy"], ignoreOrder: true);
        Messages(problems).ShouldNotContain("Granskad");
    }

    [Fact]
    public void ValidateReview_AControlCharacterInTheNote_IsRefused() =>
        Validator.ValidateReview(new ReviewRequest("ok\u001b[2J", "SE2321000016-LOGG1")).ToDictionary().Keys.ShouldBe(["note"]);

    [Fact]
    public void ValidateReview_AGoodReview_HasNoProblem() =>
        Validator.ValidateReview(new ReviewRequest("Anmälan gjord enligt rutin.\nInget att anmärka.", "SE2321000016-LOGG1")).Any.ShouldBeFalse();

    [Fact]
    public void ValidateFollowUp_AGoodRequest_HasNoProblem() => Validator.ValidateFollowUp(FollowUp()).Any.ShouldBeFalse();

    [Fact]
    public void ValidateFollowUp_EndBeforeStart_NamesTo() =>
        Validator.ValidateFollowUp(FollowUp() with { From = Now, To = Now.AddDays(-1) }).ToDictionary().Keys.ShouldBe(["to"]);

    [Fact]
    public void ValidateFollowUp_UnknownUnit_NamesTheUnitWithoutRepeatingIt()
    {
        var problems = Validator.ValidateFollowUp(FollowUp() with { Unit = "202403152388" });

        problems.ToDictionary().Keys.ShouldBe(["unit"]);
        Messages(problems).ShouldNotContain("20240315");
    }

    [Fact]
    public void ValidateFollowUp_TooLongPeriodBadSizeAndSeed_NamesEach() =>
        Validator.ValidateFollowUp(FollowUp() with { From = Now.AddDays(-400), SampleSize = 100_000, Seed = -1 }).ToDictionary().Keys
            .ShouldBe(["to", "sampleSize", "seed"], ignoreOrder: true);

    [Fact]
    public void Draw_SameSeedSameLedger_SameSample_AnotherSeedAnother()
    {
        var population = Enumerable.Range(1, 200).Select(i => Entry(i)).ToList();

        var first = LogFollowUps.Draw(population, 42, 10).Select(s => s.Seq).ToList();
        var again = LogFollowUps.Draw([.. population.AsEnumerable().Reverse()], 42, 10).Select(s => s.Seq).ToList();
        var other = LogFollowUps.Draw(population, 43, 10).Select(s => s.Seq).ToList();

        first.Count.ShouldBe(10);
        again.ShouldBe(first);
        other.ShouldNotBe(first);
    }

    [Fact]
    public void Draw_EntriesAppendedLater_DoNotChangeWhichOfTheOldOnesAreDrawnAhead()
    {
        var population = Enumerable.Range(1, 50).Select(i => Entry(i)).ToList();

        LogFollowUps.Draw(population, 7, 50).Select(s => s.Seq).ShouldBe(Enumerable.Range(1, 50).Select(i => (long)i));
        LogFollowUps.Draw(population, 7, 0).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("2026-11-23T06:30:00Z", false)] // Monday 07:30 in Stockholm
    [InlineData("2026-11-23T05:59:00Z", true)] // Monday 06:59
    [InlineData("2026-11-23T17:00:00Z", true)] // Monday 18:00
    [InlineData("2026-11-22T10:00:00Z", true)] // Sunday
    [InlineData("2026-07-01T15:30:00Z", false)] // a summer Wednesday 17:30 (UTC+2)
    [InlineData("2026-07-01T16:30:00Z", true)] // 18:30
    public void OutsideOfficeHours_StockholmTime(string at, bool outside) =>
        LogFollowUps.OutsideOfficeHours(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture),
            TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm"), new AccountabilityOptions()).ShouldBe(outside);

    [Theory]
    [InlineData("ReportOfConcern", "report-of-concern", LogExtracts.ReporterRule)]
    [InlineData("Referral", "protect-child-from-health-care", LogExtracts.HarmRule)]
    [InlineData("Referral", "consent", null)]
    [InlineData("Referral", "harm-assessment", null)]
    public void WithholdingRule_ByPurposeAndBasis(string purpose, string basis, string? rule) =>
        new LogExtracts(null!, Registry, Bases, Options.Create(new AccountabilityOptions()))
            .WithholdingRule(Entry(1) with { Purpose = purpose, Basis = basis }).ShouldBe(rule);

    [Fact]
    public void Render_SwedishDocument_EncodesEveryValueAndHoldsNoScript()
    {
        var hostile = new ExtractUnit("x", "<script>alert(1)</script>", "Region & \"Skåne\"");
        var extract = new LogExtract(Guid.NewGuid(), Now, ExtractRequester.Guardian, ["bvc"],
            [new ExtractEntry(Guid.NewGuid(), Now, hostile, hostile, "Referral", ["FamilySituation"], "consent", Guid.NewGuid(), 2, "<img src=x onerror=alert(1)>", Now, true, Now, null)],
            [], ["OSL <26:6>"]);

        var html = ExtractDocument.Render(extract, Child, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm"));

        html.ShouldContain("<html lang=\"sv\">");
        html.ShouldContain("Loggutdrag");
        html.ShouldContain("Hänvisning");
        html.ShouldContain("vårdnadshavare");
        html.ShouldNotContain("<script", Case.Insensitive);
        html.ShouldNotContain("<img", Case.Insensitive);
        html.ShouldContain("&lt;script&gt;");
        html.ShouldContain("&amp;");
        html.ShouldContain("OSL &lt;26:6&gt;");
    }

    /// <summary>The entries the accountability endpoints write are exported as FHIR AuditEvents like every other: each must parse and validate.</summary>
    [Fact]
    public void LedgerEntries_OfExtractReviewAndDraw_ExportAsValidAuditEvents()
    {
        var extract = new LogExtract(Guid.NewGuid(), Now, ExtractRequester.Guardian, ["bvc"], [], [], ["rule"]);
        var report = new FollowUpReport(Guid.NewGuid(), "bvc", Now.AddDays(-1), Now, new Dictionary<string, int>(), 0, 0, 0, [], 0, [], 42, 0, []);
        LedgerEntry[] entries =
        [
            LogExtracts.EntryFor(extract, "p-1", "region-loggranskning", "SE2321000016-LOGG1", assessed: true, "Journal 7"),
            ReviewQueue.Entry(Entry(1), "Granskad.", "SE2321000016-LOGG1", "region-loggranskning", Now),
            LogFollowUps.EntryFor(report, "region-loggranskning", "SE2321000016-LOGG1", Now),
        ];

        foreach (var entry in entries)
        {
            var linked = entry with { Seq = 42, Hash = new byte[32], PrevHash = new byte[32] };
            var json = JsonSerializer.Serialize(FhirAuditEvents.Of(linked, Registry), FhirJson);
            FhirValidation.Errors(FhirValidation.Parse<AuditEvent>(json)).ShouldBeEmpty(entry.KindText);
            json.ShouldNotContain("Granskad");
            json.ShouldNotContain("Journal 7");
        }
    }

    private static readonly JsonSerializerOptions FhirJson = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    private static LedgerEntry Entry(int seq) => new()
    {
        Seq = seq,
        MessageId = Guid.NewGuid(),
        Kind = LedgerKind.Decision,
        Outcome = LedgerOutcome.Permitted,
        SendingUnit = "bvc",
        ReceivingUnit = "social",
        ActingSystem = "bvc-ehr",
        SubjectPseudonym = "p-1",
        Purpose = "Referral",
        Categories = ["FamilySituation"],
        Reasons = [],
        At = Now,
        Hash = System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(seq)),
    };
}
