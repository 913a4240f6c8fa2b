using FamiljecentralHub.Ops.Features.Alerts;

namespace FamiljecentralHub.Ops.Tests;

/// <summary>
/// The alert rules' thresholds and the raise/clear logic, without a broker, a database or a clock: an error queue must
/// stay non-empty for its hold time, refusals must beat both the baseline and the floor, an observation that could not
/// be made clears nothing, and a condition that stops holding clears its alert.
/// </summary>
public sealed class AlertRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static AlertOptions Options() => new()
    {
        ErrorQueueFor = TimeSpan.FromMinutes(5),
        RefusalBaselineWindows = 6,
        RefusalFactor = 3,
        RefusalFloor = 10,
        WatchdogRestartWindow = TimeSpan.FromMinutes(30),
        CertificateExpiresWithin = TimeSpan.FromDays(30),
    };

    [Fact]
    public void ErrorQueues_OnlyErrorQueuesWithMessages_Fire()
    {
        var observation = AlertRules.ErrorQueues(
        [
            new QueueDepth("consent-gate", 40, 1),
            new QueueDepth("consent-gate_error", 2, 0),
            new QueueDepth("child-health-deliveries_error", 0, 0),
            new QueueDepth("ops-flows_skipped", 3, 0),
        ]);

        observation.Firing.Select(c => c.Key).ShouldBe(["consent-gate_error"]);
        observation.Firing[0].Detail.ShouldBe("2 message(s) in consent-gate_error");
    }

    [Fact]
    public void Plan_AnErrorQueue_IsRaisedOnlyAfterItsHoldTime_AndClearedWhenEmptied()
    {
        var machine = new AlertStateMachine(Options());
        var full = AlertRules.ErrorQueues([new QueueDepth("consent-gate_error", 1, 0)]);

        machine.Plan(T0, [full], []).Raise.ShouldBeEmpty("not yet five minutes");
        machine.Plan(T0.AddMinutes(4), [full], []).Raise.ShouldBeEmpty();
        var raised = machine.Plan(T0.AddMinutes(5), [full], []).Raise.ShouldHaveSingleItem();
        raised.Rule.ShouldBe(AlertRules.ErrorQueue);
        raised.Key.ShouldBe("consent-gate_error");

        var open = new OpenAlert(7, AlertRules.ErrorQueue, "consent-gate_error");
        machine.Plan(T0.AddMinutes(6), [full], [open]).ShouldSatisfyAllConditions(
            p => p.Raise.ShouldBeEmpty("one open alert per rule and key"),
            p => p.Clear.ShouldBeEmpty());
        machine.Plan(T0.AddMinutes(7), [AlertRules.ErrorQueues([new QueueDepth("consent-gate_error", 0, 0)])], [open])
            .Clear.ShouldHaveSingleItem().Id.ShouldBe(7);
    }

    [Fact]
    public void Plan_AQueueEmptiedBeforeItsHoldTime_StartsItsWaitAfresh()
    {
        var machine = new AlertStateMachine(Options());
        var full = AlertRules.ErrorQueues([new QueueDepth("q_error", 1, 0)]);
        var empty = AlertRules.ErrorQueues([]);

        machine.Plan(T0, [full], []);
        machine.Plan(T0.AddMinutes(4), [empty], []);
        machine.Plan(T0.AddMinutes(6), [full], []).Raise.ShouldBeEmpty("emptied in between: the five minutes start again");
        machine.Plan(T0.AddMinutes(11), [full], []).Raise.ShouldHaveSingleItem();
    }

    [Fact]
    public void Plan_AnObservationNotMade_ClearsNothing()
    {
        var machine = new AlertStateMachine(Options());
        var open = new OpenAlert(3, AlertRules.ErrorQueue, "q_error");

        machine.Plan(T0, [Observation.Unknown(AlertRules.ErrorQueue)], [open]).Clear.ShouldBeEmpty("the broker did not answer: nothing is known to be fixed");
        machine.Plan(T0, [AlertRules.WatchdogRestarts(new Dictionary<string, DateTimeOffset>(), T0, Options(), complete: false)],
            [new OpenAlert(4, AlertRules.WatchdogRestart, "consent")]).Clear.ShouldBeEmpty("a service that did not answer its /metrics");
    }

    [Fact]
    public void Plan_MessageRules_RaiseAtOnce_OnePerUnit_AndClearWhenTheUnitIsNoLongerLate()
    {
        var machine = new AlertStateMachine(Options());
        var late = AlertRules.UnacknowledgedReports(
            [new LateGroup("intake-1", 2, T0.AddHours(-5), [Guid.Empty])], Options());

        var raised = machine.Plan(T0, [late], []).Raise.ShouldHaveSingleItem();
        raised.Key.ShouldBe("intake-1");
        raised.Detail.ShouldContain("2 report(s) of concern delivered to intake-1 and not acknowledged after 4 hour(s)");

        machine.Plan(T0.AddMinutes(1), [AlertRules.UnacknowledgedReports([], Options())], [new OpenAlert(1, AlertRules.ReportOfConcern, "intake-1")])
            .Clear.ShouldHaveSingleItem();
    }

    [Theory]
    [InlineData(9, 0, false)]    // a quiet hub: below the floor
    [InlineData(11, 0, true)]    // above the floor, no baseline
    [InlineData(40, 60, true)]   // baseline 10 per window: 40 > 3 × 10
    [InlineData(30, 60, false)]  // exactly 3 × the baseline is not above it
    [InlineData(100, 300, false)] // a busy hub's normal: 50 per window
    public void RefusalSurge_FiresAboveBothTheBaselineAndTheFloor(long inWindow, long inBaseline, bool fires)
    {
        var observation = AlertRules.RefusalSurge(inWindow, inBaseline, Options());

        (observation.Firing.Count == 1).ShouldBe(fires);
        if (fires)
        {
            observation.Firing[0].Key.ShouldBe("hub");
        }
    }

    [Fact]
    public void WatchdogRestarts_FireWithinTheWindowOfTheLastRestart()
    {
        var restarts = new Dictionary<string, DateTimeOffset> { ["consent"] = T0.AddMinutes(-10), ["ops"] = T0.AddMinutes(-31) };

        AlertRules.WatchdogRestarts(restarts, T0, Options(), complete: true).Firing.Select(c => c.Key).ShouldBe(["consent"]);
    }

    [Fact]
    public void ExpiringCertificates_FireWithinThirtyDays_AndForTheExpired()
    {
        var notAfter = new Dictionary<string, DateTimeOffset>
        {
            ["child-health-ehr"] = T0.AddDays(29),
            ["social-services-system"] = T0.AddDays(31),
            ["maternity-ehr"] = T0.AddDays(-1),
        };

        var firing = AlertRules.ExpiringCertificates(notAfter, T0, Options(), complete: true).Firing;

        firing.Select(c => c.Key).ShouldBe(["child-health-ehr", "maternity-ehr"]);
        firing[0].Detail.ShouldContain("in 29 day(s)");
        firing[1].Detail.ShouldContain("expired");
    }

    [Fact]
    public void Ledger_FiresOnAFailedCheck_AndIsUnknownBeforeTheFirst()
    {
        AlertRules.Ledger(0, complete: true).Firing.ShouldHaveSingleItem().Key.ShouldBe("consent");
        AlertRules.Ledger(1, complete: true).ShouldSatisfyAllConditions(o => o.Firing.ShouldBeEmpty(), o => o.Complete.ShouldBeTrue());
        AlertRules.Ledger(null, complete: true).Complete.ShouldBeFalse("no check yet says nothing either way");
    }

    [Fact]
    public void Reviews_FirePerUnitWithOverdueReviews()
    {
        var overdue = new Dictionary<string, double> { ["bvc-1"] = 2, ["mvc-1"] = 0 };

        AlertRules.Reviews(overdue, complete: true).Firing.ShouldHaveSingleItem().Key.ShouldBe("bvc-1");
    }

    [Fact]
    public void PrometheusText_ReadsNamesLabelsAndValues_AndSkipsComments()
    {
        var samples = PrometheusText.Parse(
            """
            # TYPE hub_reviews_overdue gauge
            hub_reviews_overdue{otel_scope_name="FamiljecentralHub",unit="bvc \"1\""} 3 1764158400000
            hub_ledger_verified 1
            hub_other{a="b"} 7
            hub_gateway_client_certificate_expiry_time_seconds{client="child-health-ehr"} 1.7641584E+09
            """,
            name => name != "hub_other");

        samples.Count.ShouldBe(3);
        samples[0].Labels["unit"].ShouldBe("bvc \"1\"");
        samples[0].Value.ShouldBe(3);
        samples[1].ShouldSatisfyAllConditions(s => s.Name.ShouldBe("hub_ledger_verified"), s => s.Labels.ShouldBeEmpty());
        samples[2].Value.ShouldBe(1.7641584E+09);
    }
}
