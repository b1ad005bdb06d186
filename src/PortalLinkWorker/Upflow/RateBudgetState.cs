namespace PortalLinkWorker.Upflow;

/// <summary>
/// The shared rate budget of one Upflow account, as stored in <c>upflow_rate_budgets</c>: a token bucket whose rate
/// adapts (multiplicative decrease on a 429, additive increase after it) and which a 429 pauses for every replica.
/// Pure: every method takes the time, so the rules are tested with a fake clock and the database only stores the result.
/// </summary>
public sealed record RateBudgetState(
    double Tokens,
    DateTimeOffset RefilledAt,
    DateTimeOffset PausedUntil,
    double Rate,
    DateTimeOffset RateChangedAt)
{
    private const double TokenEpsilon = 1e-9;

    public static RateBudgetState Initial(DateTimeOffset now, RateBudgetRules rules) =>
        new(0, now, DateTimeOffset.MinValue, rules.MaxRate, now);

    /// <summary>The rate in force at <paramref name="now"/>: the stored rate plus one additive step per interval since it
    /// was set, up to the configured maximum.</summary>
    public double CurrentRate(DateTimeOffset now, RateBudgetRules rules)
    {
        if (Rate >= rules.MaxRate)
            return rules.MaxRate;
        var steps = Math.Floor(Math.Max(0, (now - RateChangedAt).TotalSeconds) / rules.IncreaseInterval.TotalSeconds);
        return Math.Min(rules.MaxRate, Rate + steps * rules.IncreaseStep * rules.MaxRate);
    }

    /// <summary>Takes up to <paramref name="wanted"/> tokens. When none is left, says when <paramref name="wanted"/> of them
    /// (at most a bucketful) will be there, or when the pause ends.</summary>
    public (RateBudgetState State, int Granted, DateTimeOffset? NextAt) Lease(DateTimeOffset now, int wanted, RateBudgetRules rules)
    {
        if (PausedUntil > now)
            return (this, 0, PausedUntil);
        var rate = CurrentRate(now, rules);
        var capacity = Math.Max(1, rate * rules.BurstWindow.TotalSeconds);
        var tokens = Math.Min(capacity, Tokens + Math.Max(0, (now - RefilledAt).TotalSeconds) * rate);
        // The epsilon keeps 0.9999999 tokens (floating-point refill) from counting as none.
        var granted = (int)Math.Min(wanted, Math.Floor(tokens + TokenEpsilon));
        var next = this with { Tokens = Math.Max(0, tokens - granted), RefilledAt = now };
        if (granted > 0)
            return (next, granted, null);
        // Nothing left: come back when the whole slice is there, so that a saturated budget costs one update per slice,
        // not one per token; never "now", which would make the caller ask again at once.
        var seconds = (Math.Min(wanted, Math.Floor(capacity)) - next.Tokens) / rate;
        return (next, 0, now + TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(seconds * 1000))));
    }

    /// <summary>Upflow answered 429. Every replica waits until <c>now + retryAfter</c>, the bucket restarts empty (so
    /// that the resumption is paced, not a herd), and the first 429 of an episode lowers the rate: a 429 while we kept
    /// to our own rate means Upflow's real limit is lower. 429s of calls already in flight during the pause do not
    /// lower it again.</summary>
    public (RateBudgetState State, bool RateLowered) Throttled(DateTimeOffset now, TimeSpan retryAfter, RateBudgetRules rules)
    {
        var pausedUntil = now + retryAfter > PausedUntil ? now + retryAfter : PausedUntil;
        var newEpisode = now >= PausedUntil;
        var rate = newEpisode ? Math.Max(rules.MinRate, CurrentRate(now, rules) * rules.DecreaseFactor) : Rate;
        return (new RateBudgetState(0, pausedUntil, pausedUntil, rate, newEpisode ? pausedUntil : RateChangedAt), newEpisode);
    }
}
