using FamiljecentralHub.Operations.Sending;

namespace FamiljecentralHub.ChildHealth;

/// <summary>
/// What child health care sends: referrals, reports of concern, joint plans, and the planning of joint home visits
/// and parent groups (docs/vocabulary.md).
/// </summary>
internal static class ChildHealthVocabulary
{
    public static Vocabulary Messages { get; } = new Vocabulary()
        .Speaks<ReferralRequest>()
        .Speaks<ReportOfConcernRequest>()
        .Speaks<JointPlanRequest>()
        .Speaks<JointActivityPlanningRequest>();
}
