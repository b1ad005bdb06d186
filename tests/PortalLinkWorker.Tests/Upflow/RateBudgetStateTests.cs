using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class RateBudgetStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly RateBudgetRules Rules =
        RateBudgetRules.From(new UpflowOptions
        {
            MaxRequestsPerSecond = 10, RateDecreaseFactor = 0.75, RateIncreaseStep = 0.05, BurstWindow = TimeSpan.FromMilliseconds(200),
        });

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Lease_RefillsAtTheRate_UpToOneBurstWindow()
    {
        var state = RateBudgetState.Initial(T0, Rules);

        var (afterTenthOfASecond, granted, _) = state.Lease(T0 + Ms(100), 5, Rules);
        Assert.Equal(1, granted);

        var (_, grantedAfterIdle, _) = afterTenthOfASecond.Lease(T0 + TimeSpan.FromMinutes(1), 50, Rules);
        Assert.Equal(2, grantedAfterIdle); // 10/s × 0.2 s burst window
    }

    [Fact]
    public void Lease_WhenEmpty_SaysWhenTheNextTokenIsDue()
    {
        var (state, granted, next) = RateBudgetState.Initial(T0, Rules).Lease(T0 + Ms(40), 1, Rules);
        Assert.Equal(0, granted);
        Assert.Equal(T0 + Ms(100), next);
        Assert.Equal(1, state.Lease(next!.Value, 1, Rules).Granted);
    }

    [Fact]
    public void Throttled_PausesEveryLease_ThenRestartsEmpty()
    {
        var (paused, lowered) = RateBudgetState.Initial(T0, Rules).Throttled(T0, TimeSpan.FromSeconds(3), Rules);
        Assert.True(lowered);

        var (_, duringPause, next) = paused.Lease(T0 + TimeSpan.FromSeconds(2.9), 1, Rules);
        Assert.Equal(0, duringPause);
        Assert.Equal(T0 + TimeSpan.FromSeconds(3), next);

        // No herd at the end of the pause: the bucket starts empty and refills at the (lowered) rate.
        Assert.Equal(0, paused.Lease(T0 + TimeSpan.FromSeconds(3), 5, Rules).Granted);
        Assert.Equal(1, paused.Lease(T0 + TimeSpan.FromSeconds(3) + Ms(134), 5, Rules).Granted);
    }

    [Fact]
    public void Throttled_LowersTheRateOncePerEpisode()
    {
        var (first, lowered) = RateBudgetState.Initial(T0, Rules).Throttled(T0, TimeSpan.FromSeconds(2), Rules);
        Assert.True(lowered);
        Assert.Equal(7.5, first.Rate);

        // Calls already in flight come back 429 during the same pause: no further decrease.
        var (second, loweredAgain) = first.Throttled(T0 + Ms(300), TimeSpan.FromSeconds(2), Rules);
        Assert.False(loweredAgain);
        Assert.Equal(7.5, second.Rate);
        Assert.Equal(T0 + Ms(2300), second.PausedUntil);

        // A 429 after the pause is a new episode.
        var (third, loweredThird) = second.Throttled(T0 + TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), Rules);
        Assert.True(loweredThird);
        Assert.Equal(7.5 * 0.75, third.Rate, 6);
    }

    [Fact]
    public void CurrentRate_ClimbsBackStepByStep_ToTheConfiguredMaximum()
    {
        var (lowered, _) = RateBudgetState.Initial(T0, Rules).Throttled(T0, TimeSpan.FromSeconds(1), Rules);
        var resumed = T0 + TimeSpan.FromSeconds(1);
        Assert.Equal(7.5, lowered.CurrentRate(resumed + TimeSpan.FromSeconds(4.9), Rules));
        Assert.Equal(8.0, lowered.CurrentRate(resumed + TimeSpan.FromSeconds(5), Rules), 6);
        Assert.Equal(9.5, lowered.CurrentRate(resumed + TimeSpan.FromSeconds(20), Rules), 6);
        Assert.Equal(10, lowered.CurrentRate(resumed + TimeSpan.FromMinutes(10), Rules));
    }

    [Fact]
    public void Throttled_NeverBelowTheMinimumRate()
    {
        var state = RateBudgetState.Initial(T0, Rules);
        var at = T0;
        for (var i = 0; i < 50; i++)
        {
            (state, _) = state.Throttled(at, TimeSpan.FromSeconds(1), Rules);
            at = state.PausedUntil;
        }
        Assert.Equal(Rules.MinRate, state.Rate);
    }

    [Fact]
    public void GreedyLeasing_NeverExceedsTheBudgetInAnyFiveSecondWindow()
    {
        // Three replicas asking as fast as they can (every 10 ms each) for a minute.
        var state = RateBudgetState.Initial(T0, Rules);
        var grants = new List<DateTimeOffset>();
        for (var ms = 0; ms < 60_000; ms += 10)
            for (var replica = 0; replica < 3; replica++)
            {
                var now = T0 + Ms(ms);
                (state, var granted, _) = state.Lease(now, 2, Rules);
                grants.AddRange(Enumerable.Repeat(now, granted));
            }

        var window = TimeSpan.FromSeconds(5);
        var most = grants.Max(start => grants.Count(g => g >= start && g < start + window));
        Assert.InRange(most, 49, (int)(1.05 * 10 * window.TotalSeconds));
    }
}
