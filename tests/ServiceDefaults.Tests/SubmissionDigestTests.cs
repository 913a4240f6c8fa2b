using System.Text;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>
/// The digest a decision is bound to (docs/design-decisions.md, "A permit is bound to one message"): everything the gate
/// decides on and delivers, in one canonical form, so that any difference in what would be delivered is a different
/// digest, and nothing else is.
/// </summary>
public sealed class SubmissionDigestTests
{
    private static SubmitDisclosure Submission() => new()
    {
        MessageId = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
        SendingUnit = "rosengard-bvc",
        ReceivingUnit = "malmo-mottagning",
        Purpose = Purpose.ReportOfConcern,
        Categories = [InformationCategory.FamilySituation, InformationCategory.IdentityAndContact],
        SubjectId = "202403152388",
        ClaimedBasis = new ClaimedBasis { Basis = "report-of-concern" },
        Content = """{"concern":"Blåmärken."}""",
        ActingSystem = "bvc-ehr",
        ActingUser = "SE2321000016-BVC1",
        SubmittedAt = DateTimeOffset.Parse("2026-11-25T10:00:00Z"),
    };

    /// <summary>The form is stored (in the ledger's digests): pinned, so a change to it is a deliberate, versioned one.</summary>
    [Fact]
    public void Canonical_OfASubmission_IsTheDocumentedForm()
    {
        Encoding.UTF8.GetString(SubmissionDigest.Canonical(Submission())).ShouldBe(
            """["hub-submission/1","rosengard-bvc","malmo-mottagning","202403152388","ReportOfConcern",["FamilySituation","IdentityAndContact"],["report-of-concern",null,null,null],"{\u0022concern\u0022:\u0022Bl\u00E5m\u00E4rken.\u0022}","bvc-ehr","SE2321000016-BVC1"]""");
        SubmissionDigest.Of(Submission()).Length.ShouldBe(32);
    }

    [Fact]
    public void Of_CategoriesInAnotherOrderOrRepeated_IsTheSame()
    {
        var reordered = Submission() with
        {
            Categories = [InformationCategory.IdentityAndContact, InformationCategory.FamilySituation, InformationCategory.IdentityAndContact],
        };

        SubmissionDigest.Of(reordered).ShouldBe(SubmissionDigest.Of(Submission()));
    }

    /// <summary>The id is what the digest is bound to, not part of it; the time is the sender's clock, which a retry moves.</summary>
    [Fact]
    public void Of_AnotherSubmittedAtOrMessageId_IsTheSame()
    {
        SubmissionDigest.Of(Submission() with { SubmittedAt = DateTimeOffset.UtcNow, MessageId = Guid.CreateVersion7() })
            .ShouldBe(SubmissionDigest.Of(Submission()));
    }

    public static TheoryData<string> Changes() => [.. Changed.Keys];

    private static readonly Dictionary<string, Func<SubmitDisclosure, SubmitDisclosure>> Changed = new()
    {
        ["sending unit"] = s => s with { SendingUnit = "rosengard-mvc" },
        ["receiving unit"] = s => s with { ReceivingUnit = "rosengard-oppna-forskolan" },
        ["subject"] = s => s with { SubjectId = "202403162387" },
        ["purpose"] = s => s with { Purpose = Purpose.Referral },
        ["a category more"] = s => s with { Categories = [.. s.Categories, InformationCategory.ChildHealth] },
        ["a category less"] = s => s with { Categories = [InformationCategory.FamilySituation] },
        ["no claimed basis"] = s => s with { ClaimedBasis = null },
        ["another basis"] = s => s with { ClaimedBasis = new ClaimedBasis { Basis = "protect-child-from-health-care" } },
        ["a justification"] = s => s with { ClaimedBasis = s.ClaimedBasis! with { Justification = "x" } },
        ["an assessment reference"] = s => s with { ClaimedBasis = s.ClaimedBasis! with { AssessmentReference = "x" } },
        ["an assessor"] = s => s with { ClaimedBasis = s.ClaimedBasis! with { Assessor = "x" } },
        ["content"] = s => s with { Content = """{"concern":"Något annat."}""" },
        ["content's spacing"] = s => s with { Content = """{ "concern":"Blåmärken."}""" },
        ["acting system"] = s => s with { ActingSystem = "mvc-ehr" },
        ["acting user"] = s => s with { ActingUser = "SE2321000016-BVC2" },
        ["no acting user"] = s => s with { ActingUser = null },
        ["an empty acting user"] = s => s with { ActingUser = "" },
        ["a field boundary"] = s => s with { SendingUnit = "rosengard-bvcmalmo", ReceivingUnit = "-mottagning" },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Of_AnythingDeliveredChanged_IsAnotherDigest(string change)
    {
        SubmissionDigest.Of(Changed[change](Submission())).ShouldNotBe(SubmissionDigest.Of(Submission()));
    }

    [Fact]
    public void Of_AnEmptyAndANullActingUser_Differ()
    {
        SubmissionDigest.Of(Submission() with { ActingUser = "" }).ShouldNotBe(SubmissionDigest.Of(Submission() with { ActingUser = null }));
    }
}
