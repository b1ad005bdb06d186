using System.Collections.Concurrent;

namespace UpflowSimulator;

/// <summary>One token bucket per API key; the burst equals the rate, at least 1.</summary>
internal sealed class TokenBucketLimiter(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    /// <summary>Takes a token for <paramref name="key"/>; when none is left returns false and the whole seconds until one is.</summary>
    public bool TryTake(string key, double ratePerSecond, out int retryAfterSeconds)
    {
        retryAfterSeconds = 0;
        if (ratePerSecond <= 0)
        {
            return true;
        }

        var burst = Math.Max(1, ratePerSecond);
        var now = timeProvider.GetTimestamp();
        var bucket = buckets.GetOrAdd(key, _ => new Bucket(burst, now));
        lock (bucket)
        {
            var elapsed = timeProvider.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Tokens = Math.Min(burst, bucket.Tokens + (elapsed * ratePerSecond));
            bucket.Stamp = now;
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                return true;
            }

            retryAfterSeconds = Math.Max(1, (int)Math.Ceiling((1 - bucket.Tokens) / ratePerSecond));
            return false;
        }
    }

    public void Clear() => buckets.Clear();

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;

        public long Stamp { get; set; } = stamp;
    }
}
