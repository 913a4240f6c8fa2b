using FamiljecentralHub.Operations.Sending;

namespace FamiljecentralHub.Operations.Tests;

public sealed class VocabularyMachineryTests
{
    [Fact]
    public void Speaks_SameTypeTwice_Throws()
    {
        Should.Throw<InvalidOperationException>(() => new Vocabulary().Speaks<ReferralRequest>().Speaks<ReferralRequest>());
    }

    [Fact]
    public void Speaks_SeveralTypes_MapsEachToItsOwnRoute()
    {
        new Vocabulary().Speaks<ReferralRequest>().Speaks<ReportOfConcernRequest>().Speaks<CareHandoverRequest>().Routes
            .ShouldBe(["referrals", "reports-of-concern", "care-handovers"]);
    }

    [Fact]
    public void MessageIdFor_SameIdempotencyKey_GivesTheSameIdPerSendingUnit()
    {
        DisclosureSender.MessageIdFor("bvc", "k-1").ShouldBe(DisclosureSender.MessageIdFor("bvc", "k-1"));
        DisclosureSender.MessageIdFor("bvc", "k-1").ShouldNotBe(DisclosureSender.MessageIdFor("mvc", "k-1"));
        DisclosureSender.MessageIdFor("bvc", null).ShouldNotBe(DisclosureSender.MessageIdFor("bvc", null));
    }

    [Fact]
    public void UnidentifiedSubjectFor_MessageId_CarriesOnlyTheMessageIdAndIsStable()
    {
        var id = DisclosureSender.MessageIdFor("forskola", "orosanmalan-1");

        UnidentifiedSubject.For(id).ShouldBe($"unidentified-{id:N}");
        UnidentifiedSubject.Is(UnidentifiedSubject.For(id)).ShouldBeTrue();
        UnidentifiedSubject.Is("202403152388").ShouldBeFalse();
    }
}
