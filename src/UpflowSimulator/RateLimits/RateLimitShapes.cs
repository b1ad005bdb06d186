namespace UpflowSimulator.RateLimits;

/// <summary>Builds the <see cref="IRateLimitShape"/> for a <see cref="RateLimitShape"/>.</summary>
public static class RateLimitShapes
{
    /// <summary>Builds <paramref name="shape"/> for <paramref name="ratePerSecond"/> (finite, above 0) reading time from <paramref name="time"/>.</summary>
    public static IRateLimitShape Create(RateLimitShape shape, double ratePerSecond, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "The rate must be a finite number above 0");
        }

        return shape switch
        {
            RateLimitShape.TokenBucket => new TokenBucketShape(ratePerSecond, time),
            RateLimitShape.SlidingWindow => new SlidingWindowShape(CallsPer(ratePerSecond, TimeSpan.FromSeconds(1)), time),
            RateLimitShape.FixedWindowSecond => new FixedWindowShape(CallsPer(ratePerSecond, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(1), time),
            RateLimitShape.FixedWindowMinute => new FixedWindowShape(CallsPer(ratePerSecond, TimeSpan.FromMinutes(1)), TimeSpan.FromMinutes(1), time),
            _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, "Unknown rate-limit shape"),
        };
    }

    /// <summary>
    /// The whole calls a window allows at the rate, at least 1. The small tolerance keeps 0.1 × 60 (5.999… in binary)
    /// at 6 rather than 5.
    /// </summary>
    public static int CallsPer(double ratePerSecond, TimeSpan window) =>
        (int)Math.Clamp(Math.Floor((ratePerSecond * window.TotalSeconds) + 1e-9), 1, int.MaxValue);
}
