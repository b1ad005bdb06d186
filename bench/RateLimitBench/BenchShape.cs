namespace RateLimitBench;

/// <summary>The Upflow limiter the simulator plays in a scenario: one of its rate-limit shapes, or its in-flight cap.</summary>
internal enum BenchShape
{
    TokenBucket,
    SlidingWindow,
    FixedWindowSecond,
    FixedWindowMinute,

    /// <summary>Upflow's documented 10 calls at once (simulator MaxConcurrentRequests 10), with a token bucket at L.</summary>
    InFlightCap,
}
