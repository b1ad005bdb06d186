using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class RateBudgetStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly RateBudgetRules Rules =
        RateBudgetRules.From(new UpflowOptions
        {
            MaxRequestsPerSecond = 10, LearnedRateMargin = 0.75, RateIncreaseStep = 0.05, RateIncreaseInterval = TimeSpan.FromSeconds(5),
            RateIncreaseDelay = TimeSpan.FromSeconds(30),
            BurstWindow = TimeSpan.FromMilliseconds(200),
        }) with { TransitJitter = TimeSpan.Zero }; // the arithmetic in round figures; the allowance has a test of its own

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Lease_WithTheTransitJitterAllowance_ReservesAtTheSendingWindowsSpacing()
    {
        var rules = Rules with { TransitJitter = SendingWindow.TransitJitter, BurstWindow = TimeSpan.FromSeconds(2) };
        var interval = SendingWindow.Spacing(10);

        var (state, granted, first) = RateBudgetState.Initial(T0, rules).Lease(T0 + interval, 10, rules);
        var (_, _, eleventh) = state.Lease(T0 + interval, 1, rules);

        // Ten reserved at 10/s with a 10-ms allowance: 101 ms apart, so ten calls take 1.01 s and the eleventh is due then.
        Assert.Equal(10, granted);
        Assert.Equal(T0 + interval, first);
        Assert.Equal(TimeSpan.FromMilliseconds(101), interval);
        Assert.InRange(eleventh!.Value - first!.Value, TimeSpan.FromMilliseconds(1010) - TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1010) + TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void Lease_ReservesEvenlySpacedTimes_UpToOneBurstWindowAhead()
    {
        // 10/s, 200-ms burst window: the token due now and the two due within 200 ms, never more, however long idle.
        var (reserved, granted, at) = RateBudgetState.Initial(T0, Rules).Lease(T0 + Ms(100), 5, Rules);
        Assert.Equal(3, granted);
        Assert.Equal(T0 + Ms(100), at);

        var (_, nothingLeft, comeBack) = reserved.Lease(T0 + Ms(100), 1, Rules);
        Assert.Equal(0, nothingLeft);
        Assert.Equal(T0 + Ms(200), comeBack);

        var (_, grantedAfterIdle, atAfterIdle) = reserved.Lease(T0 + TimeSpan.FromMinutes(1), 50, Rules);
        Assert.Equal(3, grantedAfterIdle); // no burst: an idle minute saves up one token, not a bucketful
        Assert.Equal(T0 + TimeSpan.FromMinutes(1), atAfterIdle);
    }

    [Fact]
    public void Delayed_MovesTheReservationsNotYetMade_ByTheLateness()
    {
        // 10/s: the token due at 100 ms is taken; its call reaches Upflow 30 ms late, so the next is due at 230 ms, not 200.
        var (state, _, _) = RateBudgetState.Initial(T0, Rules).Lease(T0 + Ms(100), 1, Rules);
        var late = state.Delayed(Ms(30), T0 + Ms(150), Rules);

        Assert.Equal(T0 + Ms(200), state.Lease(T0 + Ms(150), 1, Rules).At);
        Assert.Equal(T0 + Ms(230), late.Lease(T0 + Ms(150), 1, Rules).At!.Value, TimeSpan.FromTicks(1));
        // A pause already holds every call back: lateness before it changes nothing.
        var (paused, _) = state.Throttled(T0 + Ms(150), T0 + Ms(100), TimeSpan.FromSeconds(1), Rules);
        Assert.Equal(paused, paused.Delayed(Ms(30), T0 + Ms(160), Rules));
    }

    [Fact]
    public void Lease_BeforeTheTokenIsDue_ReservesItsTime()
    {
        var (state, granted, at) = RateBudgetState.Initial(T0, Rules).Lease(T0 + Ms(40), 1, Rules);
        Assert.Equal(1, granted);
        Assert.Equal(T0 + Ms(100), at);
        // The next one is one interval later, whoever asks and however late.
        Assert.Equal(T0 + Ms(200), state.Lease(T0 + Ms(45), 1, Rules).At);
    }

    [Fact]
    public void GreedyLeasing_ByLateReplicas_NeverSendsMoreThanTheRateInAnyOneSecond()
    {
        // Three replicas, each coming back 0–60 ms late for its tokens (a round trip to the shared row, a busy CPU): a
        // strict one-second window at the rate must never see one call too many, and the rate must still be used.
        var random = new Random(13);
        var state = RateBudgetState.Initial(T0, Rules);
        var sends = new List<DateTimeOffset>();
        var due = new[] { T0, T0 + Ms(7), T0 + Ms(13) };
        while (due.Min() < T0 + TimeSpan.FromSeconds(30))
        {
            var replica = Array.IndexOf(due, due.Min());
            var now = due[replica];
            (state, var granted, var at) = state.Lease(now, 2, Rules);
            for (var k = 0; k < granted; k++)
                sends.Add(at!.Value + TimeSpan.FromSeconds(k / 10.0));
            var back = granted > 0 ? at!.Value + TimeSpan.FromSeconds(granted / 10.0) : at!.Value;
            due[replica] = back + Ms(random.Next(0, 60));
        }
        var most = sends.Max(start => sends.Count(s => s >= start && s < start + TimeSpan.FromSeconds(1)));
        var worst = sends.First(start => sends.Count(s => s >= start && s < start + TimeSpan.FromSeconds(1)) == most);
        Assert.True(most == 10, string.Join(", ", sends.Where(s => s >= worst && s < worst + TimeSpan.FromSeconds(1)).Select(s => (s - T0).TotalMilliseconds)));
        Assert.InRange(sends.Count(s => s < T0 + TimeSpan.FromSeconds(30)), 0.97 * 300, 301);
    }

    /// <summary>A state that saw <paramref name="perSecond"/> calls a second admitted for <paramref name="seconds"/>
    /// seconds up to <paramref name="end"/>.</summary>
    private static RateBudgetState Admitted(double perSecond, double seconds, DateTimeOffset end)
    {
        var sent = new List<DateTimeOffset>();
        var count = (int)(perSecond * seconds);
        for (var i = 0; i < count; i++)
            sent.Add(end - TimeSpan.FromSeconds(seconds) + TimeSpan.FromSeconds((i + 0.5) / perSecond));
        return RateBudgetState.Initial(T0, Rules).Admit(sent, end);
    }

    [Fact]
    public void Throttled_PausesEveryLease_ThenRestartsEmpty()
    {
        var (paused, _) = RateBudgetState.Initial(T0, Rules).Throttled(T0, T0, TimeSpan.FromSeconds(3), Rules);

        var (_, duringPause, next) = paused.Lease(T0 + TimeSpan.FromSeconds(2.9), 1, Rules);
        Assert.Equal(0, duringPause);
        Assert.Equal(T0 + TimeSpan.FromSeconds(3), next);

        // No herd at the end of the pause: the bucket starts empty, so the first call is due one interval after it.
        var (_, reserved, at) = paused.Lease(T0 + TimeSpan.FromSeconds(3), 5, Rules);
        Assert.Equal(2, reserved);
        Assert.Equal(T0 + TimeSpan.FromSeconds(3) + Ms(100), at);
    }

    [Fact]
    public void Throttled_WithNothingAdmitted_PausesButKeepsTheRate()
    {
        // Another client may have spent the account's limit: a 429 with no admitted call says nothing of the limit.
        var (paused, _) = RateBudgetState.Initial(T0, Rules).Throttled(T0, T0, TimeSpan.FromSeconds(1), Rules);
        Assert.Equal(10, paused.Settled(paused.PausedUntil, Rules).CurrentRate(T0 + TimeSpan.FromMinutes(1), Rules));
    }

    [Fact]
    public void Throttled_PerSecondLimiter_SettlesJustBelowWhatTheLastSecondAdmitted()
    {
        // 8 calls a second admitted for 10 s, then a 429 asking for 1 s: the limit is 8/s; the rate goes to 0.75 × 8.
        var at = T0 + TimeSpan.FromSeconds(10);
        var (paused, newEpisode) = Admitted(8, 10, at).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        Assert.True(newEpisode);
        // The rate settles when the pause ends, when every call sent before the refused one has been reported.
        Assert.Equal(10, paused.Rate);
        var state = paused.Settled(paused.PausedUntil, Rules);
        Assert.Equal(6, state.Rate, 1);
    }

    [Theory]
    // A steady run: 8/s admitted for the first 2 s (the run starting), then 10/s at the configured 10/s, then one 429 for
    // 1 s (our own jitter put one call too many into a strict second). The limit is what the last second admitted: the
    // margin alone steps below it, not 5 % more for the slow start.
    [InlineData(8, 10 * 0.75)]
    // A bucket's burst running out: 2/s admitted for 8 s, then 10/s for the last 2 s. At most the binding share (0.95) of
    // the last second per 429.
    [InlineData(2, 0.95 * 10 * 0.75)]
    public void Throttled_ShortPauseAfterASecondThatLetEverythingThrough_StepsByTheMarginOnlyAfterASteadyRun(
        double firstPerSecond, double settled)
    {
        var firstSeconds = firstPerSecond > 5 ? 2 : 8;
        var at = T0 + TimeSpan.FromSeconds(10);
        var first = Enumerable.Range(0, (int)(firstPerSecond * firstSeconds))
            .Select(i => T0 + TimeSpan.FromSeconds((i + 0.5) / firstPerSecond)).ToList();
        var admitted = Admitted(10, 10 - firstSeconds, at).Admit(first, at);
        var (paused, _) = admitted.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(settled, paused.Settled(paused.PausedUntil, Rules).Rate, 1);
    }

    [Theory]
    // 1.5 s into a run at 10/s, 9 calls in the last second: the run was ramping up, and the 429 was our jitter. The
    // margin alone steps below the rate.
    [InlineData(9, 10 * 0.75)]
    // 4 calls in that second: well under the rate, so the limit binds there.
    [InlineData(4, 4 * 0.75)]
    public void Throttled_InARunsFirstSeconds_ReadsTheLastSecondAsALimitOnlyWellUnderTheRate(double lastSecond, double settled)
    {
        var at = T0 + TimeSpan.FromSeconds(1.5);
        var (paused, _) = Admitted(lastSecond, 1, at).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(settled, paused.Settled(paused.PausedUntil, Rules).Rate, 1);
    }

    [Fact]
    public void Throttled_JitterAfterASlowStart_StepsByTheMarginOnly()
    {
        // 4/s for the first 3 s (cold connections), then 10/s for 7 s, then one 429 for 1 s: the run's average (8.2/s) is
        // under the binding share of the last second, but its last 5 s were steady, so this is jitter, not a burst.
        var at = T0 + TimeSpan.FromSeconds(10);
        var first = Enumerable.Range(0, 12).Select(i => T0 + TimeSpan.FromSeconds((i + 0.5) / 4)).ToList();
        var (paused, _) = Admitted(10, 7, at).Admit(first, at).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(10 * 0.75, paused.Settled(paused.PausedUntil, Rules).Rate, 1);
    }

    [Fact]
    public void Throttled_JitterAtTheLimit_WithTheLastSecondCountedACallShort_StepsByTheMarginOnly()
    {
        // 10/s for 10 s, then one 429 for 1 s; the log holds 9 calls in the last second (one call reached Upflow late,
        // inside its second but not ours). Within the count's error of the rate: our jitter, not a limit of 9.
        var at = T0 + TimeSpan.FromSeconds(10);
        var calls = Evenly(T0 + Ms(50), 100, 10).Where((_, i) => i != 95).ToList();
        var state = RateBudgetState.Initial(T0, Rules).Admit(calls, at);
        Assert.Equal(9, state.Admitted.Count(at, TimeSpan.FromSeconds(1)), 1);

        var (paused, _) = state.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(10 * 0.75, paused.Settled(paused.PausedUntil, Rules).Rate, 6);
    }

    [Theory]
    // The steady run of the test above, but its rate was settled 5 s before (less than RateIncreaseDelay): the margin was
    // not enough, so this 429 steps down as for a burst.
    [InlineData(10, 5)]
    // The rate was settled 2.2 s before; the run since the pause is 1.2 s at 10/s, and its last second held 10: a fixed
    // window's count straddled by that second, not a limit at 10. Read as the limit, the rate would step only by the
    // margin (7.5) and meet the same 429 two seconds later; it steps 5 % more.
    [InlineData(1.2, 2.2)]
    public void Throttled_SoonAfterASettle_WithTheLastSecondAtTheRate_StepsByTheBindingShare(double runSeconds, double settledBefore)
    {
        var at = T0 + TimeSpan.FromSeconds(10);
        var admitted = Admitted(10, runSeconds, at) with { Rate = 10, RateChangedAt = at - TimeSpan.FromSeconds(settledBefore) };
        var (paused, _) = admitted.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(0.95 * 10 * 0.75, paused.Settled(paused.PausedUntil, Rules).Rate, 2);
    }

    [Fact]
    public void Throttled_FixedWindowCountedByWholeSeconds_SettlesAtTheCountSinceTheWholeSecond()
    {
        // A window of 6 per whole second, sent 8/s. The first 429: 3 calls before the second began, 6 after, refused at
        // .6. Then the pause, 3 calls before the next whole second, 6 after it, refused again. Each last second holds 7.5–9,
        // but both 429s came 6 calls into their whole second, and the second before held less: the limit is 6.
        var calls = new List<DateTimeOffset>();
        calls.AddRange(Evenly(T0 - Ms(375), 3, 8));
        calls.AddRange(Evenly(T0, 6, 10));
        calls.AddRange(Evenly(T0 + Ms(1600), 3, 8));
        calls.AddRange(Evenly(T0 + Ms(2000), 6, 8));
        var at = T0 + Ms(2800);
        var state = RateBudgetState.Initial(T0, Rules).Admit(calls, at) with
        {
            Rate = 8, RateChangedAt = T0 + Ms(1600), LastRefusedAt = T0 + Ms(600),
        };

        var (paused, _) = state.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(6 * 0.75, paused.Settled(paused.PausedUntil, Rules).Rate, 6);
    }

    [Fact]
    public void Throttled_SteadyRunRefusedAtTheSameCountSinceTheWholeSecond_IsNotReadAsAFixedWindow()
    {
        // 8/s for 6 s, refused 6 calls into a whole second, as the previous 429 (3 s before, in the same run) was: the whole
        // second before each let 8 through, so no fixed window of 6 per second was there. The estimate is the one without
        // the previous 429.
        var at = T0 + Ms(5740);
        var steady = RateBudgetState.Initial(T0, Rules).Admit([.. Evenly(T0, 48, 8)], T0 + TimeSpan.FromSeconds(6)) with
        {
            Rate = 8, RateChangedAt = T0 - TimeSpan.FromSeconds(30),
        };
        var withPrevious = steady with { LastRefusedAt = T0 + Ms(2740) };

        var (pausedWithout, _) = steady.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var (pausedWith, _) = withPrevious.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(pausedWithout.Settled(pausedWithout.PausedUntil, Rules).Rate,
            pausedWith.Settled(pausedWith.PausedUntil, Rules).Rate, 6);
    }

    [Theory]
    // A token bucket of 6 a second (holding 6) refused a call at T0; the rate was settled at 10 when the pause ended
    // (a first read of its burst), 1.15 s later, and the run's first call left 0.1 s after that: the bucket was full, and
    // 0.25 s of its refill overflowed. The run at 10/s spends those 6 on top of the bucket's 6/s and is refused 1.5 s in,
    // after 15 calls: its last second let all 10 through. 15 calls from one 429 to the next, in 2.75 s less what
    // overflowed: the bucket's 6.
    [InlineData(1.15, true)]
    // The same run after a 2.15-s pause (our own backoff): longer than a bucket's refill need be, so the calls since the
    // last 429 say nothing sure of its rate, and the estimate is the one without that 429.
    [InlineData(2.15, false)]
    public void Throttled_RunAfterAPauseRefusedWhenItsBurstRanOut_SettlesAtWhatGotThroughSinceTheLast429(double pauseSeconds,
        bool readsTheBucket)
    {
        var resumed = T0 + TimeSpan.FromSeconds(1.15);
        var before = resumed - TimeSpan.FromSeconds(pauseSeconds);
        var firstCall = resumed + TimeSpan.FromSeconds(0.1);
        var at = firstCall + TimeSpan.FromSeconds(1.5);
        var calls = Evenly(before - TimeSpan.FromSeconds(1), 10, 10).Concat(Evenly(firstCall, 15, 10));
        var admitted = RateBudgetState.Initial(T0, Rules).Admit([.. calls], at) with { Rate = 10, RateChangedAt = resumed };
        var withPrevious = admitted with { LastRefusedAt = before };

        var (pausedWithout, _) = admitted.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var (pausedWith, _) = withPrevious.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var without = pausedWithout.Settled(pausedWithout.PausedUntil, Rules).Rate;
        var with = pausedWith.Settled(pausedWith.PausedUntil, Rules).Rate;

        if (readsTheBucket)
        {
            Assert.Equal(6 * 0.75, with, 6);
            Assert.True(without > 1.3 * with, $"without the last 429: {without:0.00}");
        }
        else
            Assert.Equal(without, with, 6);
    }

    [Fact]
    public void Throttled_FixedWindowMetJustOverItsLimitAfterThePause_IsNotReadAsABurstRunningOut()
    {
        // A window of 10 per whole second, first read as 10.5 (one call before the whole second, ten after): the rate
        // settled at 10.4 when the pause ended, 1.45 s in. The run got 5 calls into the rest of that second and 10 into
        // the next, and the eleventh there was refused: the calls since the last 429 are far under the last second's, as
        // a spent bucket's are, but nearly all of the last second came after its whole second. Read as a bucket it would
        // settle near 4; the estimate is the one without the last 429.
        var resumed = T0 + TimeSpan.FromSeconds(1.55 - (1 / 10.4));
        var run = Evenly(T0 + TimeSpan.FromSeconds(1.55), 16, 10.4).ToList();
        var at = run[^1];
        var admitted = run.Take(15).ToList();
        Assert.Equal(10, admitted.Count(sent => sent >= T0 + TimeSpan.FromSeconds(2)));
        var calls = Evenly(T0 - TimeSpan.FromSeconds(0.5), 10, 10).Concat(admitted);
        var state = RateBudgetState.Initial(T0, Rules).Admit([.. calls], at) with { Rate = 10.4, RateChangedAt = resumed };

        var (pausedWithout, _) = state.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var (pausedWith, _) = (state with { LastRefusedAt = T0 + Ms(500) }).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(pausedWithout.Settled(pausedWithout.PausedUntil, Rules).Rate,
            pausedWith.Settled(pausedWith.PausedUntil, Rules).Rate, 6);
    }

    [Fact]
    public void Throttled_JitterAFewSecondsAfterThePause_IsNotReadAsABurstRunningOut()
    {
        // 8/s since a pause that ended 4.75 s ago, then one 429 (our jitter against a per-second window of 8): the calls
        // since the last 429 are 37 in 5.625 s (its 5.875 s less what would have overflowed a bucket), 82 % of the last
        // second's 8, and a bucket's spent refill would have shown under 80 %: no burst ran out, and the estimate is the
        // one without that 429.
        var resumed = T0 + TimeSpan.FromSeconds(1.125);
        var firstCall = resumed + TimeSpan.FromSeconds(0.125);
        var at = firstCall + TimeSpan.FromSeconds(37.0 / 8);
        var calls = Evenly(T0 - TimeSpan.FromSeconds(1), 8, 8).Concat(Evenly(firstCall, 37, 8));
        var admitted = RateBudgetState.Initial(T0, Rules).Admit([.. calls], at) with { Rate = 8, RateChangedAt = resumed };

        var (pausedWithout, _) = admitted.Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var (pausedWith, _) = (admitted with { LastRefusedAt = T0 }).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(pausedWithout.Settled(pausedWithout.PausedUntil, Rules).Rate,
            pausedWith.Settled(pausedWith.PausedUntil, Rules).Rate, 6);
    }

    /// <summary><paramref name="count"/> sending times <paramref name="perSecond"/> apart from <paramref name="from"/>.</summary>
    private static IEnumerable<DateTimeOffset> Evenly(DateTimeOffset from, int count, double perSecond) =>
        Enumerable.Range(0, count).Select(i => from + TimeSpan.FromSeconds(i / perSecond));

    [Fact]
    public void Throttled_PerMinuteWindowSpentInABurst_CountsThePauseItAsksFor()
    {
        // 10/s configured; Upflow allowed 100 in a minute, all sent in the first 10 s, then says "come back in 50 s":
        // 100 calls over 60 s is 1.67/s, not the 10/s the last second saw.
        var at = T0 + TimeSpan.FromSeconds(10);
        var (paused, _) = Admitted(10, 10, at).Throttled(at, at, TimeSpan.FromSeconds(50), Rules);
        Assert.Equal(at + TimeSpan.FromSeconds(50), paused.PausedUntil);
        var state = paused.Settled(paused.PausedUntil, Rules);
        Assert.Equal(100.0 / 59 * 0.75, state.Rate, 1);
    }

    [Fact]
    public void Throttled_InFlightCallsOfTheSameEpisode_ChangeNothingMore()
    {
        var at = T0 + TimeSpan.FromSeconds(10);
        var (first, _) = Admitted(8, 10, at).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var (second, newEpisode) = first.Throttled(at + Ms(50), at + Ms(20), TimeSpan.FromSeconds(1), Rules);
        Assert.False(newEpisode);
        Assert.Equal(at, second.ThrottledAt);
        Assert.Equal(first.Settled(second.PausedUntil, Rules).Rate, second.Settled(second.PausedUntil, Rules).Rate, 6);
    }

    [Fact]
    public void Throttled_CallSentBeforeTheRateWasSettled_PausesButKeepsTheRate()
    {
        // The other replica's call, sent 20 ms after the first 429's and answered 429 too, is reported only after the pause
        // ended and the rate settled: it pauses again as Upflow asks, and the rate stays where the first 429 put it.
        var at = T0 + TimeSpan.FromSeconds(10);
        var (first, _) = Admitted(8, 10, at).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var settled = first.Settled(first.PausedUntil, Rules);
        var reportedAt = first.PausedUntil + Ms(5);
        var (late, _) = settled.Throttled(reportedAt, at + Ms(20), TimeSpan.FromSeconds(1), Rules);

        Assert.Equal(reportedAt + TimeSpan.FromSeconds(1), late.PausedUntil);
        Assert.Equal(settled.Rate, late.Settled(late.PausedUntil, Rules).Rate, 6);

        // Reported during a new episode instead, it leaves that episode's refused call where it was.
        var refusedAgain = reportedAt + Ms(100);
        var (episode, _) = settled.Throttled(refusedAgain, refusedAgain, TimeSpan.FromSeconds(1), Rules);
        var (withStale, _) = episode.Throttled(refusedAgain + Ms(10), at + Ms(20), TimeSpan.FromSeconds(1), Rules);
        Assert.Equal(refusedAgain, withStale.ThrottledAt);
    }

    [Fact]
    public void CurrentRate_ClimbsBackStepByStep_ToTheConfiguredMaximum()
    {
        var at = T0 + TimeSpan.FromSeconds(10);
        var (paused, _) = Admitted(8, 10, at).Throttled(at, at, TimeSpan.FromSeconds(1), Rules);
        var resumed = paused.PausedUntil;
        var lowered = paused.Settled(resumed, Rules);
        var rate = lowered.Rate;
        // Held for the delay, then one step per interval.
        Assert.Equal(rate, lowered.CurrentRate(resumed + TimeSpan.FromSeconds(34.9), Rules));
        Assert.Equal(rate * 1.05, lowered.CurrentRate(resumed + TimeSpan.FromSeconds(35), Rules), 6);
        Assert.Equal(rate * 1.20, lowered.CurrentRate(resumed + TimeSpan.FromSeconds(50), Rules), 6);
        Assert.Equal(10, lowered.CurrentRate(resumed + TimeSpan.FromMinutes(10), Rules));
    }

    [Fact]
    public void Throttled_NeverBelowTheMinimumRate()
    {
        var at = T0 + TimeSpan.FromSeconds(10);
        // Four calls got through, then Upflow asks for half a minute: 4 calls in 30 s is under the minimum rate.
        var (paused, _) = Admitted(10, 0.4, at).Throttled(at, at, TimeSpan.FromSeconds(30), Rules);
        Assert.Equal(Rules.MinRate, paused.Settled(paused.PausedUntil, Rules).Rate);
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
                (state, var granted, var at) = state.Lease(now, 2, Rules);
                for (var k = 0; k < granted; k++)
                    grants.Add(at!.Value + TimeSpan.FromSeconds(k / 10.0));
            }

        var window = TimeSpan.FromSeconds(5);
        var most = grants.Max(start => grants.Count(g => g >= start && g < start + window));
        Assert.InRange(most, 49, (int)(1.05 * 10 * window.TotalSeconds));
    }
}
