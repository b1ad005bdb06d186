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
/// <item><b>episode</b>, when we kept sending at the rate since the previous 429: what got through between the two, over
/// the time between them. A token bucket spent at both let through exactly its refill, so a second 429 finds its rate in
/// one step (<see cref="LastEmptyAt"/>).</item>
/// </list>
/// The estimate is made when the pause ends, not when the 429 arrives: by then every call sent before the refused one has
/// been answered and reported by its replica, so the log is complete up to the refused call's sending time.
/// A run under a few seconds is too short for the long estimate: the short one stands. The rate settles at <see cref="RateBudgetRules.Margin"/> of it in one step, never
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
    DateTimeOffset? LastEmptyAt = null)
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

    /// <summary>Two 429s closer than this are too close to read a rate from what got through between them: a second's
    /// pause is half of it, and one call more or less is 2.5 % of the limit.</summary>
    private static readonly TimeSpan EpisodeMinimum = TimeSpan.FromSeconds(2);

    /// <summary>Calls went out at the full rate when at least this share of it got through.</summary>
    private const double SaturatedShare = 0.9;

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
        var tokens = Math.Min(1, Tokens + (Math.Max(0, (now - RefilledAt).TotalSeconds) * rate));
        // The epsilon keeps 0.9999999 tokens (floating-point refill) from counting as none.
        var granted = (int)Math.Clamp(Math.Floor(tokens + ahead + TokenEpsilon), 0, wanted);
        // The store's clock decides and moves forward; a refill is never counted twice.
        var next = this with { Tokens = tokens - granted, RefilledAt = now > RefilledAt ? now : RefilledAt };
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
        var tokens = Math.Min(1, Tokens + (Math.Max(0, (now - RefilledAt).TotalSeconds) * rate));
        return this with { Tokens = tokens - (by.TotalSeconds * rate), RefilledAt = now > RefilledAt ? now : RefilledAt };
    }

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
        if (lastSecond >= MinimumSample && shortPause && (lastSecond < BindingShare * CurrentRate(now, rules) || run < LongRunMinimum))
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
        // A short pause after a second that let everything through: a bucket's burst ran out, or our own pacing jittered
        // over a per-second limit. A run that got through on average what its last second did was steady, not draining a
        // burst, and a first such 429 (the rate held since the last settle for longer than it holds) is our jitter: the
        // limit is that second's count, and the margin alone steps below it (a 5 % step for one jitter 429 cost the rest
        // of the run 5 % at the limit). Otherwise, a burst draining or the margin not enough (two replicas' jitter against
        // a per-second window drew a 429 every 2 s at 1 % steps): at most the binding share of the last second per 429.
        // The limiter was spent at the last 429 and again now, and we kept sending at the rate in between: whatever it is,
        // what it let through between the two is what it allows over that time. A token bucket empty at both refilled
        // exactly that (its pause included), where the run's average still counts the full bucket it started with (at 3×
        // the limit against a bucket of a second's worth, 5 % steps took six 429s and 39 s to come within 5 % of it).
        // Against a per-second window the same count is a jitter 429's, short by the pause: so it is trusted only for a
        // cut of at most half, and a window's jitter 429s seldom come within 20 s of each other (where it cuts more than
        // the 5 % step below); none did in the benchmark's matrix.
        // It is a lower bound already (a bucket empty at both 429s let through at most its refill, less what it could not
        // hold while we paused), so the margin is not taken off it again: with it, calls settled 5 % under a bucket.
        if (Episode(now, since) is { } episode && episode < BindingShare * lastSecond && episode >= lastSecond / 2)
            return episode / rules.Margin;
        if (longEstimate >= BindingShare * lastSecond)
        {
            var sentAtMost = Math.Min(lastSecond, CurrentRate(now, rules));
            return now - RateChangedAt >= rules.IncreaseDelay ? sentAtMost : BindingShare * sentAtMost;
        }
        return Math.Max(longEstimate, BindingShare * lastSecond);
    }

    /// <summary>What Upflow admitted per second between the previous 429 (<see cref="LastEmptyAt"/>) and this one, sent
    /// at <paramref name="now"/>; null unless both fall in one busy run, at least <see cref="EpisodeMinimum"/> apart, and
    /// calls went out at (nearly) the full rate from the end of the previous pause on (a backlog that ran dry between them
    /// says nothing of the limit).</summary>
    private double? Episode(DateTimeOffset now, DateTimeOffset busySince)
    {
        if (LastEmptyAt is not { } previous || previous < busySince || now - previous < EpisodeMinimum
            || now - previous > AdmissionLog.Span || RateChangedAt <= previous || RateChangedAt >= now)
            return null;
        var sending = now - RateChangedAt;
        // The reservations' spacing is 1 % under the rate, and the first waits for the bucket: 0.9, not 0.95.
        if (Admitted.Count(now, sending) < SaturatedShare * Rate * sending.TotalSeconds)
            return null;
        // Whole slots after the previous refused call's: calls in its slot were sent before it (the pause began with it).
        var afterPrevious = DateTimeOffset.FromUnixTimeMilliseconds(
            (AdmissionLog.SlotOf(previous) + 1) * (long)AdmissionLog.SlotLength.TotalMilliseconds);
        return Admitted.Count(now, now - afterPrevious) / (now - previous).TotalSeconds;
    }

    /// <summary>Upflow answered 429 to a call sent at <paramref name="sentAt"/>, and calls pause for <paramref name="pause"/>
    /// (Upflow's Retry-After when <paramref name="askedByUpflow"/>, else our own backoff). Every
    /// replica waits until then, and the bucket restarts empty (the resumption is paced, not a herd). The rate settles
    /// when the pause ends (<see cref="Settled"/>); 429s of calls already in flight during the pause change nothing more.</summary>
    public (RateBudgetState State, bool NewEpisode) Throttled(DateTimeOffset now, DateTimeOffset sentAt, TimeSpan pause,
        RateBudgetRules rules, bool askedByUpflow = true)
    {
        // Only a pause Upflow asked for says how long its window is; our own backoff says nothing of it.
        var told = askedByUpflow ? pause : TimeSpan.Zero;
        var pausedUntil = now + pause > PausedUntil ? now + pause : PausedUntil;
        var refusedAt = sentAt < now ? sentAt : now;
        var newEpisode = ThrottledAt is null && now >= PausedUntil;
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
        // The limiter was spent when the refused call reached it; but calls resumed later than Upflow asked (the 429's
        // own round trip, the lease after the pause), and a bucket refilled meanwhile may have had no room for all of it:
        // counted from the refused call, a bucket of a second's worth read 19.1/s, not 20. So the next episode counts from
        // as long before the resumption as Upflow asked for (without a Retry-After, from the refused call).
        var resumedLate = ThrottledPause > TimeSpan.Zero && now - refusedAt > ThrottledPause ? now - refusedAt - ThrottledPause : TimeSpan.Zero;
        return this with
        {
            Rate = rate, RateChangedAt = now, ThrottledAt = null, ThrottledPause = default, LastEmptyAt = refusedAt + resumedLate,
        };
    }
}
