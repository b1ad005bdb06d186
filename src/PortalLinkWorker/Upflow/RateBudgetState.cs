namespace PortalLinkWorker.Upflow;

/// <summary>
/// The shared rate budget of one Upflow account, as stored in <c>upflow_rate_budgets</c>: a one-token bucket that paces
/// calls evenly at <see cref="Rate"/> by reserving their sending times (<see cref="Lease"/>), a pause every replica
/// obeys after a 429, and the log of what Upflow admitted, from which a 429 learns the rate Upflow really allows. Pure:
/// every method takes the time, so the rules are tested with a fake clock and the database only stores the result.
/// </summary>
/// <remarks>
/// Upflow does not say how it counts (token bucket, sliding or fixed window, per second or per minute). Whatever it is,
/// a 429 says "you have used what I allow for now", and what it admitted just before says how much that is:
/// <list type="bullet">
/// <item><b>short</b>: the calls admitted in the last second, when that is clearly less than we were sending. A
/// per-second limiter (sliding or fixed window) is full at the 429, so this is its limit.</item>
/// <item><b>long</b>, when the last second let through all we sent: the calls admitted since the busy run began (up to a
/// minute), divided by the run's length plus the pause Upflow asks for. A per-minute window spent in a burst says "come
/// back in 40 s": its 1,200 calls over 20 s + 40 s are 20/s. A token bucket's burst drains away the same way.</item>
/// <item><b>refilled</b>: the calls admitted since the last 429, over the time since it, when the run after its pause got
/// through far less on average than in its last second: a bucket's refill spent (<see cref="RefilledBurstLimit"/>).</item>
/// <item><b>aligned</b>: the calls admitted since the whole second, when two 429s came the same count into their whole
/// seconds and their last seconds held more: a fixed window per second, straddled (<see cref="AlignedWindowLimit"/>).</item>
/// </list>
/// The estimate is made when the pause ends, not when the 429 arrives: by then every call sent before the refused one has
/// been answered and reported by its replica, so the log is complete up to the refused call's sending time.
/// In the first run, a run under a few seconds is too short for the long estimate: the short one stands. The rate settles at <see cref="RateBudgetRules.Margin"/> of it in one step, never
/// above where it was. Without a 429 it stays there for <see cref="RateBudgetRules.IncreaseDelay"/>, then climbs slowly
/// (<see cref="RateBudgetRules.IncreaseStep"/> of itself per <see cref="RateBudgetRules.IncreaseInterval"/>) up to the
/// configured maximum, so a limit that rises is found
/// again, and a limit that did not is met with one 429, not a storm. Pacing evenly is right under every shape: a burst
/// that empties a per-minute window makes every live request wait for the next one.
/// </remarks>
public sealed record RateBudgetState(
    double Tokens,
    DateTimeOffset RefilledAt,
    DateTimeOffset PausedUntil,
    double Rate,
    DateTimeOffset RateChangedAt,
    AdmissionLog Admitted,
    DateTimeOffset? ThrottledAt = null,
    TimeSpan ThrottledPause = default,
    DateTimeOffset? LastRefusedAt = null)
{
    private const double TokenEpsilon = 1e-9;

    /// <summary>Fewer admitted calls than this say nothing of the limit (another client may have spent it).</summary>
    private const int MinimumSample = 3;

    private static readonly TimeSpan PauseRounding = TimeSpan.FromSeconds(1);

    /// <summary>The last second counts as a full per-second window when it held less than this share of the rate we sent
    /// at; above it, the limiter let through (nearly) all we sent, and the last second says nothing of its limit.</summary>
    private const double BindingShare = 0.95;

    /// <summary>A busy run shorter than this is too short for the long estimate: a quarter-second slot and a rounded
    /// Retry-After would be most of it.</summary>
    private static readonly TimeSpan LongRunMinimum = TimeSpan.FromSeconds(3);

    /// <summary>In a run's first seconds, a last second that held at least this share of the rate was ramping up, not
    /// held back by a limit; under it (a third of the rate at 3× the limit), the limit binds.</summary>
    private const double RampShare = 0.8;

    /// <summary>How far the last second's count may fall short of what a per-second limiter counted, in calls. The log
    /// counts by sending time in quarter-second slots, the first one by the share of it inside the second as if its calls
    /// were spread evenly (half a call either way when they are); and a call that reached Upflow late counts in Upflow's
    /// second before the refused call but not in ours (one call). A sliding window of 20 refused a call in a steady run
    /// at 20/s (our own jitter) whose last second the log counted short of 19; read as the limit, it left calls at 18–19 a
    /// second for the rest of the run (0.926 of the limit).</summary>
    private const double CountError = 1.5;

    /// <summary>A run after a pause that got through on average since the last 429 less than this share of its last second
    /// spent a bucket's refill (<see cref="RefilledBurstLimit"/>).</summary>
    private const double DrainedShare = 0.8;

    /// <summary>How far back a run is looked at to tell whether it was steady before a 429.</summary>
    private static readonly TimeSpan SteadySpan = TimeSpan.FromSeconds(5);

    public static RateBudgetState Initial(DateTimeOffset now, RateBudgetRules rules) =>
        new(0, now, DateTimeOffset.MinValue, rules.MaxRate, DateTimeOffset.MinValue, AdmissionLog.Empty);

    /// <summary>The rate in force at <paramref name="now"/>: the learned rate, held for
    /// <see cref="RateBudgetRules.IncreaseDelay"/> after it was set, then one step up per interval, up to the configured
    /// maximum.</summary>
    public double CurrentRate(DateTimeOffset now, RateBudgetRules rules)
    {
        if (Rate >= rules.MaxRate)
            return rules.MaxRate;
        var climbing = now - RateChangedAt - rules.IncreaseDelay;
        var steps = Math.Floor(Math.Max(0, climbing.TotalSeconds) / rules.IncreaseInterval.TotalSeconds);
        return Math.Min(rules.MaxRate, Rate * (1 + steps * rules.IncreaseStep));
    }

    /// <summary>Reserves up to <paramref name="wanted"/> sending times, one every 1/rate, none earlier than now and none
    /// more than <see cref="RateBudgetRules.BurstWindow"/> ahead; returns how many, and when the first may be sent (the
    /// others follow one every 1/<see cref="CurrentRate"/>). When none is free, says when to come back (the pause's end,
    /// or when <paramref name="wanted"/> of them are within reach).</summary>
    /// <remarks>
    /// The bucket holds at most one token and may run into debt by up to a burst window's worth: a token taken ahead is a
    /// reservation, sent when the bucket would have had it. So calls leave evenly spaced whatever the round trip to the
    /// shared row costs (the reservation is made before the sending time, not after it), and never in a burst: a bucket
    /// that held a burst window's worth (2 tokens at 20/s) let 21 calls into one second after any late lease, and a strict
    /// per-second window answered 429, each costing a whole second's pause.
    /// </remarks>
    public (RateBudgetState State, int Granted, DateTimeOffset? At) Lease(DateTimeOffset now, int wanted, RateBudgetRules rules)
    {
        if (PausedUntil > now)
            return (this, 0, PausedUntil);
        if (ThrottledAt is not null)
            return Settled(now, rules).Lease(now, wanted, rules);
        var rate = PaceRate(now, rules);
        var ahead = rate * rules.BurstWindow.TotalSeconds;
        var refilled = RefilledTo(now, rate);
        var tokens = refilled.Tokens;
        // The epsilon keeps 0.9999999 tokens (floating-point refill) from counting as none.
        var granted = (int)Math.Clamp(Math.Floor(tokens + ahead + TokenEpsilon), 0, wanted);
        var next = refilled with { Tokens = tokens - granted };
        if (granted > 0)
        {
            // The first reservation is due when the bucket reaches one token again.
            var wait = Math.Max(0, 1 - tokens - TokenEpsilon) / rate;
            return (next, granted, now + TimeSpan.FromTicks((long)Math.Ceiling(wait * TimeSpan.TicksPerSecond)));
        }
        // Nothing within reach: come back when the whole slice is, so that a saturated budget costs one update per slice,
        // not one per token; never "now", which would make the caller ask again at once.
        var seconds = (Math.Clamp(wanted, 1, Math.Floor(1 + ahead + TokenEpsilon)) - (tokens + ahead)) / rate;
        return (next, 0, now + TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(seconds * 1000))));
    }

    /// <summary>The rate sending times are reserved at: the sending window's spacing (<see cref="SendingWindow.Spacing"/>),
    /// not 1/rate, so that the fleet's calls leave the allowance for transit jitter across replicas that each process's
    /// window leaves for its own.</summary>
    public double PaceRate(DateTimeOffset now, RateBudgetRules rules) =>
        1 / SendingWindow.Spacing(CurrentRate(now, rules), rules.TransitJitter).TotalSeconds;

    /// <summary>A call was seen <paramref name="by"/> later than its reservation allowed for: every reservation not yet
    /// made moves that much later (the bucket runs into debt), so that the call a window's count after it is not seen
    /// within the window of it, whichever replica sends it.</summary>
    public RateBudgetState Delayed(TimeSpan by, DateTimeOffset now, RateBudgetRules rules)
    {
        if (by <= TimeSpan.Zero || PausedUntil > now || ThrottledAt is not null)
            return this;
        var rate = PaceRate(now, rules);
        var refilled = RefilledTo(now, rate);
        return refilled with { Tokens = refilled.Tokens - (by.TotalSeconds * rate) };
    }

    /// <summary>The bucket refilled at <paramref name="rate"/> up to <paramref name="now"/>, never above one token. The
    /// store's clock decides and moves forward; a refill is never counted twice.</summary>
    private RateBudgetState RefilledTo(DateTimeOffset now, double rate) => this with
    {
        Tokens = Math.Min(1, Tokens + (Math.Max(0, (now - RefilledAt).TotalSeconds) * rate)),
        RefilledAt = now > RefilledAt ? now : RefilledAt,
    };

    /// <summary>Records calls Upflow admitted, by when they were sent.</summary>
    public RateBudgetState Admit(IReadOnlyCollection<DateTimeOffset> sentAt, DateTimeOffset now) =>
        sentAt.Count == 0 ? this : this with { Admitted = Admitted.Add(sentAt, now) };

    /// <summary>What Upflow admitted before a call sent at <paramref name="now"/> was refused says it allows, in calls per
    /// second, when <paramref name="pause"/> is how long it asked us to wait; null when too little was admitted to tell.
    /// Read at the refused call's sending time, which is when Upflow counted it.</summary>
    public double? EstimateLimit(DateTimeOffset now, TimeSpan pause, RateBudgetRules rules)
    {
        if (Admitted.BusySince(now) is not { } since)
            return null;
        var run = now - since;
        var inRun = Admitted.Count(now, run);
        if (inRun < MinimumSample)
            return null;
        var lastSecond = Admitted.Count(now, TimeSpan.FromSeconds(1));
        // A per-second window was full: the last second held fewer calls than we were sending, and Upflow asks for no more
        // than a second's pause, so that is the limit.
        var shortPause = pause <= PauseRounding;
        var current = CurrentRate(now, rules);
        var firstRun = RateChangedAt == DateTimeOffset.MinValue;
        if (shortPause && AlignedWindowLimit(now) is { } aligned)
            return aligned;
        // The first seconds of the first run ramp up (cold connections and code): a 429 there whose last second held
        // nearly the rate is our own jitter, not a limit below the rate. Only before any settle: later, a run restarts
        // after every pause, and against a fixed window at 22/s for a limit of 20 this kept the rate at 22 with a 429
        // every 2 s. Two replicas at the limit drew one 1.4 s in, with 18 calls in that second at 20/s; settling at 18
        // cost the rest of the run 12 %.
        if (firstRun && lastSecond >= MinimumSample && shortPause && run < LongRunMinimum
            && lastSecond >= RampShare * current && lastSecond < BindingShare * current)
            return current;
        // The last second is the limit when it is short of the rate we sent at. After a run that got through all it sent
        // in its last seconds, "short" means by more than the count's error: within it, that second was not held back.
        // A run too short for the long estimate reads its last second as the limit too, but only in the first run. After
        // a settle, a short run is the one after a pause, and a last second near the rate sent straddled two of a fixed
        // window's seconds (20 + 1 at a limit of 20): read as the limit, it settled at 21 and stepped 1 % per 429, a 429
        // every 2 s for 10 s. The rules below step it 5 %.
        var steadySpan = run < SteadySpan ? run : SteadySpan;
        var recent = Admitted.Count(now, steadySpan) / Math.Max(AdmissionLog.SlotLength.TotalSeconds, steadySpan.TotalSeconds);
        var shortOfRate = recent >= BindingShare * current
            ? lastSecond + CountError < BindingShare * current
            : lastSecond < BindingShare * current;
        if (lastSecond >= MinimumSample && shortPause && (shortOfRate || (firstRun && run < LongRunMinimum)))
            return lastSecond;
        // Everything we sent in the last second got through: the limit binds over longer than a second (a minute's window,
        // a bucket's burst), and what the run got through, the pause included, is what it allows. Retry-After comes in
        // whole seconds (a number or an HTTP-date), so up to a second of the pause is rounding, not the limiter's window.
        var window = run + (pause > PauseRounding ? pause - PauseRounding : TimeSpan.Zero);
        var longEstimate = inRun / Math.Max(AdmissionLog.SlotLength.TotalSeconds, window.TotalSeconds);
        // Next to nothing got through in the last second (a quarter-second slot is counted by the part of it inside the
        // second, so a stray one or two is an edge, not a sample): the limiter was already refusing.
        if (lastSecond < MinimumSample || !shortPause)
            return longEstimate;
        if (RefilledBurstLimit(now, since, lastSecond) is { } refilled)
            return refilled;
        // A short pause after a second that let everything through: a bucket's burst ran out, or our own pacing jittered
        // over a per-second limit. A run that got through on average what its last second did was steady, not draining a
        // burst, and a first such 429 (the rate held since the last settle for longer than it holds) is our jitter: the
        // limit is that second's count, and the margin alone steps below it (a 5 % step for one jitter 429 cost the rest
        // of the run 5 % at the limit). Otherwise, a burst draining or the margin not enough (two replicas' jitter against
        // a per-second window drew a 429 every 2 s at 1 % steps): at most the binding share of the last second per 429.
        // Steady is judged over the last few seconds, not the whole run: two replicas' first seconds (cold connections,
        // 7 and 17 calls) made a run steady at 20/s for 7 s look like a burst, and one jitter 429 cost the rest of it 5 %.
        if (recent >= BindingShare * lastSecond)
        {
            var sentAtMost = Math.Min(lastSecond + CountError, current);
            return now - RateChangedAt >= rules.IncreaseDelay ? sentAtMost : BindingShare * sentAtMost;
        }
        return Math.Max(longEstimate, BindingShare * lastSecond);
    }

    /// <summary>
    /// The limit of a fixed window per second counted against the clock's whole seconds (a counter per second: the usual
    /// way to build one), when the 429s at <paramref name="now"/> and at <see cref="LastRefusedAt"/> both read as one;
    /// otherwise null.
    /// </summary>
    /// <remarks>
    /// Such a window refuses at the same count since the whole second every time, while the last second, straddling
    /// two of its windows, holds more: 7 calls before the second began and 20 after it read as a limit of 27 for a window
    /// of 20, and 5 % steps took four more 429s, one every 2 s, to come down (0.86–0.91 of the limit). A 429 reads as one
    /// when the count since its whole second is clearly under its last second's (a straddle), and the whole second
    /// before held no more than it (else that second would have been refused). A sliding window or a bucket refused in a
    /// steady run fails the second test (the whole second before held the rate); two 429s whose counts agree within a
    /// call make it a window, and the lower count is its limit.
    /// </remarks>
    private double? AlignedWindowLimit(DateTimeOffset now)
    {
        if (LastRefusedAt is not { } before || before >= now || now - before > AdmissionLog.Span - TimeSpan.FromSeconds(2))
            return null;
        return FullAtWholeSecondCount(now) is { } aligned && FullAtWholeSecondCount(before) is { } alignedBefore
            && Math.Abs(aligned - alignedBefore) <= 1
            ? Math.Min(aligned, alignedBefore)
            : null;
    }

    /// <summary>
    /// The rate a limiter with a burst (a token bucket) allows, when the run refused at <paramref name="now"/> followed
    /// the short pause of the last settled 429 without a break and got through on average since that 429 under
    /// <see cref="DrainedShare"/> of its last second: the calls admitted from that 429 to this one, over the time between
    /// them. Otherwise null.
    /// </summary>
    /// <remarks>
    /// A bucket refills while calls pause, and the run after the pause spends that refill on top of the bucket's rate:
    /// every second of it gets through all we send, and the 429 comes when the refill is gone. Read by its last second (a
    /// step of 5 % per 429), a bucket of 20 a second first read as 30 came down over six 429s and 32–37 s, each pause
    /// refilling it and each run spending the refill again (117–120 calls in 5 s for 100 allowed). From one 429 to the next
    /// the bucket was empty at both ends and refilled at its rate all along: the calls between are its rate, when it holds
    /// at least the second Upflow asked us to wait. Of a longer pause (the answer's transit, the lease after it), the rest
    /// overflowed a bucket that holds a second, so it is left out of the time: a bucket of 20 read 19.3–19.5 with it, 20
    /// without. A smaller bucket makes this an under-estimate the climb corrects.
    /// A per-second window refused by our jitter in a steady run at its limit shows a run like it, but its calls since its
    /// last 429 are its limit less the pause's share: 10 s after a 1-s pause, 91 % of the last second (two replicas drew
    /// such a 429 9 s after one, and read as a bucket it left the run at 0.85). So only a run that got through under
    /// <see cref="DrainedShare"/> of its last second reads as a bucket: one sent at more than 5/4 of the bucket's rate, and
    /// a jitter 429 within 4 s of a pause's end. A bucket met at less than that comes down in 5 % steps, as before (at
    /// 3/4 of the first read's rate, a step after a bucket's first 429 was left to them read 0.74 and was missed).
    /// </remarks>
    private double? RefilledBurstLimit(DateTimeOffset now, DateTimeOffset since, double lastSecond)
    {
        if (LastRefusedAt is not { } before || before >= now || now - before > AdmissionLog.Span - TimeSpan.FromSeconds(2)
            || RateChangedAt < before || RateChangedAt - before > PauseRounding + (2 * AdmissionLog.SlotLength) || since > before)
            return null;
        // The calls of the last 429's slot were sent before it (nothing got through in the pause): counted from the next one.
        var afterRefusedSlot = AdmissionLog.SlotStart(AdmissionLog.SlotOf(before) + 1);
        var resumed = RateChangedAt + TimeSpan.FromSeconds(1 / Rate);
        var overflowed = resumed - before > PauseRounding ? resumed - before - PauseRounding : TimeSpan.Zero;
        var span = now - before - overflowed;
        // A fixed window per second refuses when its count since the whole second reaches its limit. Sent at less than
        // 1/BindingShare of it, that is late in the second, with nearly all of the last second's calls since the whole
        // second (within a call), and the aligned reading cannot tell it (AlignedWindowLimit): read as a bucket, a window
        // of 20 met at 20.8/s a second after its pause would settle near 12. A bucket's 429 that late in its second (1 in
        // 12 at 30/s) is left to the steps, and the next one reads it.
        if (span <= PauseRounding || CountSinceWholeSecond(now) + 1 >= BindingShare * lastSecond)
            return null;
        var sinceRefused = Admitted.Count(now, now - afterRefusedSlot) / span.TotalSeconds;
        return sinceRefused < DrainedShare * lastSecond ? sinceRefused : null;
    }

    /// <summary>The calls admitted since the whole second of <paramref name="at"/> (a refused call's sending time), when the
    /// 429 there reads as a fixed window's (<see cref="AlignedWindowLimit"/>).</summary>
    private double? FullAtWholeSecondCount(DateTimeOffset at)
    {
        var intoSecond = TimeSpan.FromTicks(at.UtcTicks % TimeSpan.TicksPerSecond);
        var aligned = CountSinceWholeSecond(at);
        var lastSecond = Admitted.Count(at, TimeSpan.FromSeconds(1));
        var wholeSecond = at - intoSecond;
        var secondBefore = Admitted.CountSlots(wholeSecond - TimeSpan.FromSeconds(1), wholeSecond);
        return aligned >= MinimumSample && aligned < BindingShare * lastSecond && secondBefore <= aligned + 1 ? aligned : null;
    }

    /// <summary>The calls admitted since the whole second of <paramref name="at"/>.</summary>
    private double CountSinceWholeSecond(DateTimeOffset at) =>
        Admitted.Count(at, TimeSpan.FromTicks(at.UtcTicks % TimeSpan.TicksPerSecond));

    /// <summary>Upflow answered 429 to a call sent at <paramref name="sentAt"/>, and calls pause for <paramref name="pause"/>
    /// (Upflow's Retry-After when <paramref name="askedByUpflow"/>, else our own backoff). Every
    /// replica waits until then, and the bucket restarts empty (the resumption is paced, not a herd). The rate settles
    /// when the pause ends (<see cref="Settled"/>); 429s of calls already in flight during the pause, or sent before the rate in
    /// force was settled, change nothing more.</summary>
    public (RateBudgetState State, bool NewEpisode) Throttled(DateTimeOffset now, DateTimeOffset sentAt, TimeSpan pause,
        RateBudgetRules rules, bool askedByUpflow = true)
    {
        // Only a pause Upflow asked for says how long its window is; our own backoff says nothing of it.
        var told = askedByUpflow ? pause : TimeSpan.Zero;
        var pausedUntil = now + pause > PausedUntil ? now + pause : PausedUntil;
        var refusedAt = sentAt < now ? sentAt : now;
        var newEpisode = ThrottledAt is null && now >= PausedUntil;
        // A call sent before the rate in force was settled left at the rate before it: its 429 (another replica's call,
        // reported after the pause it shared) says nothing of this rate, and read against the same last second again it
        // would step the rate down a second time for one episode. It pauses as Upflow asks; the rate stays, and a 429 of
        // the episode in progress keeps its own time (an older one would move the estimate to before the settle).
        if (refusedAt < RateChangedAt)
            return (this with { Tokens = 0, RefilledAt = pausedUntil, PausedUntil = pausedUntil }, newEpisode);
        return (this with
        {
            Tokens = 0,
            RefilledAt = pausedUntil,
            PausedUntil = pausedUntil,
            ThrottledAt = ThrottledAt is { } first && first < refusedAt ? first : refusedAt,
            ThrottledPause = ThrottledAt is null || told > ThrottledPause ? told : ThrottledPause,
        }, newEpisode);
    }

    /// <summary>The pause after a 429 is over: the rate settles just below what Upflow admitted up to the refused call
    /// (never higher than it was), and climbs from there.</summary>
    public RateBudgetState Settled(DateTimeOffset now, RateBudgetRules rules)
    {
        if (ThrottledAt is not { } refusedAt)
            return this;
        var current = CurrentRate(now, rules);
        var rate = EstimateLimit(refusedAt, ThrottledPause, rules) is { } limit
            ? Math.Clamp(limit * rules.Margin, rules.MinRate, current)
            : current;
        return this with { Rate = rate, RateChangedAt = now, ThrottledAt = null, ThrottledPause = default, LastRefusedAt = refusedAt };
    }
}
