namespace UpflowSimulator.RateLimits;

/// <summary>
/// One way of counting calls against a rate limit (see <see cref="RateLimitShape"/>). Instances keep their own state,
/// read time only from the <see cref="TimeProvider"/> they were built with, and are safe to call from many threads.
/// </summary>
public interface IRateLimitShape
{
    /// <summary>
    /// Admits one call and returns true, or returns false and in <paramref name="retryAfter"/> the time after which
    /// this shape would admit the next call (if no other call takes its place).
    /// </summary>
    bool TryAdmit(out TimeSpan retryAfter);
}
