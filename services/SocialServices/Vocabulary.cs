using FamiljecentralHub.Operations.Sending;

namespace FamiljecentralHub.SocialServices;

/// <summary>
/// What social services send, from the preventive unit and from the committee's intake unit: referrals, joint
/// plans, the care handover between authority and open care with the child's own story, and their side of planning
/// joint activities (docs/vocabulary.md).
/// </summary>
internal static class SocialServicesVocabulary
{
    public static Vocabulary Messages { get; } = new Vocabulary()
        .Speaks<ReferralRequest>()
        .Speaks<ReportOfConcernRequest>()
        .Speaks<JointPlanRequest>()
        .Speaks<CareHandoverRequest>()
        .Speaks<JointActivityPlanningRequest>();
}
