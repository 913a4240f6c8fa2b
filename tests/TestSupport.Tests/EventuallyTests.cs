using System.Diagnostics;

namespace FamiljecentralHub.Tests.Support.Tests;

/// <summary>The shapes of waiting the hub suites share: each returns when it should and fails saying what it last saw.</summary>
public sealed class EventuallyTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MatchStateAsync_ProbeThatComesTrue_ReturnsTheMatchingValue()
    {
        var asked = 0;

        var value = await Eventually.MatchStateAsync(() => ++asked, n => n >= 3, TimeSpan.FromSeconds(5), n => $"asked {n} times", Interval, Ct);

        value.ShouldBe(3);
    }

    [Fact]
    public async Task MatchStateAsync_ProbeThatNeverComesTrue_FailsWithTheLastValueSeen()
    {
        var asked = 0;

        var failure = await Should.ThrowAsync<TimeoutException>(
            () => Eventually.MatchStateAsync(() => ++asked, _ => false, TimeSpan.FromMilliseconds(100), n => $"still not so after {n} looks", Interval, Ct));

        failure.Message.ShouldBe($"still not so after {asked} looks");
        asked.ShouldBeGreaterThan(1);
    }

    [Fact]
    public async Task MatchOrLastAsync_ProbeThatComesTrue_ReturnsTheMatchingValueAtOnce()
    {
        var asked = 0;
        var clock = Stopwatch.StartNew();

        var value = await Eventually.MatchOrLastAsync(() => Task.FromResult(++asked), n => n == 2, TimeSpan.FromSeconds(30), Interval, Ct);

        value.ShouldBe(2);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task MatchOrLastAsync_ProbeThatNeverComesTrue_ReturnsTheLastValueOnceTimeIsUp()
    {
        var asked = 0;
        var clock = Stopwatch.StartNew();

        var value = await Eventually.MatchOrLastAsync(() => Task.FromResult(++asked), _ => false, TimeSpan.FromMilliseconds(200), Interval, Ct);

        value.ShouldBe(asked);
        asked.ShouldBeGreaterThan(1);
        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task StaysAsync_ConditionThatHoldsThroughout_ReturnsAfterTheDurationHavingLookedRepeatedly()
    {
        var asked = 0;
        var clock = Stopwatch.StartNew();

        await Eventually.StaysAsync(() => Task.FromResult(++asked), _ => true, TimeSpan.FromMilliseconds(200), n => $"look {n}", Interval, Ct);

        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
        asked.ShouldBeGreaterThan(2);
    }

    [Fact]
    public async Task StaysAsync_ConditionThatBreaks_FailsAtOnceWithTheValueThatBrokeIt()
    {
        var asked = 0;
        var clock = Stopwatch.StartNew();

        // xunit's assertion: Shouldly's own passes its assertion exceptions through.
        var failure = await Assert.ThrowsAsync<ShouldAssertException>(
            () => Eventually.StaysAsync(() => Task.FromResult(++asked), n => n < 3, TimeSpan.FromSeconds(30), n => $"broke at look {n}", Interval, Ct));

        failure.Message.ShouldBe("broke at look 3");
        asked.ShouldBe(3);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }
}
