using FamiljecentralHub.Operations.Sending;

namespace FamiljecentralHub.OpenPreschool;

/// <summary>
/// What the open preschool sends: referrals and reports of concern (a report may name a child known only by name),
/// and its side of planning joint activities (docs/vocabulary.md).
/// </summary>
internal static class OpenPreschoolVocabulary
{
    public static Vocabulary Messages { get; } = new Vocabulary()
        .Speaks<ReferralRequest>()
        .Speaks<ReportOfConcernRequest>()
        .Speaks<JointActivityPlanningRequest>();
}
