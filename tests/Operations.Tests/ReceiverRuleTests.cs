using FamiljecentralHub.Operations.Sending;
using FamiljecentralHub.ServiceDefaults.Organisation;
using static FamiljecentralHub.Operations.Tests.TestOrganisation;

namespace FamiljecentralHub.Operations.Tests;

/// <summary>
/// The sender's pre-check refuses exactly what the gate refuses for the purpose (<see cref="AcceptedPurposes"/>, the
/// rule the gate decides by): a message the gate would refuse is not submitted, and none the gate would take is turned away.
/// </summary>
public sealed class ReceiverRuleTests
{
    public static TheoryData<DisclosureRequest> Requests =>
    [
        new ReferralRequest(), new ReportOfConcernRequest(), new JointPlanRequest(), new JointActivityPlanningRequest(),
        new BirthHandoverRequest(), new CareHandoverRequest(),
    ];

    [Theory]
    [MemberData(nameof(Requests))]
    public void CheckReceiver_EveryPairOfUnits_AgreesWithTheGatesRule(DisclosureRequest request)
    {
        var units = Registry.Document.Units;
        foreach (var sender in units)
        {
            foreach (var receiver in units.Where(receiver => receiver != sender))
            {
                var refused = request.CheckReceiver(sender, receiver) is not null;

                refused.ShouldBe(!AcceptedPurposes.Accepts(sender, receiver, request.Purpose), $"{request.Purpose} from {sender.Id} to {receiver.Id}");
            }
        }
    }
}
