namespace UpflowSimulator.RateLimits;

/// <summary>
/// A token bucket refilled continuously at the rate and holding at most the rate (at least 1) tokens; it starts full,
/// so an idle caller may send a burst of that many calls.
/// </summary>
public sealed class TokenBucketShape : IRateLimitShape
{
    private readonly Lock gate = new();
    private readonly TimeProvider time;
    private readonly double ratePerSecond;
    private readonly double capacity;
    private double tokens;
    private long stamp;

    /// <summary>A full bucket for <paramref name="ratePerSecond"/> (finite, above 0).</summary>
    public TokenBucketShape(double ratePerSecond, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "The rate must be a finite number above 0");
        }

        this.time = time;
        this.ratePerSecond = ratePerSecond;
        capacity = Math.Max(1, ratePerSecond);
        tokens = capacity;
        stamp = time.GetTimestamp();
    }

    /// <summary>The most tokens the bucket holds: the rate, at least 1.</summary>
    public double Capacity => capacity;

    /// <inheritdoc />
    public bool TryAdmit(out TimeSpan retryAfter)
    {
        lock (gate)
        {
            var now = time.GetTimestamp();
            tokens = Math.Min(capacity, tokens + (time.GetElapsedTime(stamp, now).TotalSeconds * ratePerSecond));
            stamp = now;
            if (tokens >= 1)
            {
                tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((1 - tokens) / ratePerSecond);
            return false;
        }
    }
}
