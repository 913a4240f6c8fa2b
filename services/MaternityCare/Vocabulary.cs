using FamiljecentralHub.Operations.Sending;

namespace FamiljecentralHub.MaternityCare;

/// <summary>
/// What maternity care sends: the birth handover to child health care, referrals, reports of concern, and the
/// planning of joint home visits and parent groups (docs/vocabulary.md).
/// </summary>
internal static class MaternityCareVocabulary
{
    public static Vocabulary Messages { get; } = new Vocabulary()
        .Speaks<BirthHandoverRequest>()
        .Speaks<ReferralRequest>()
        .Speaks<ReportOfConcernRequest>()
        .Speaks<JointActivityPlanningRequest>();
}
