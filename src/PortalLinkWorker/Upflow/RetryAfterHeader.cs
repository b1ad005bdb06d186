using System.Globalization;
using System.Net.Http.Headers;

namespace PortalLinkWorker.Upflow;

/// <summary>Reads how long a server asked us to wait before trying again.</summary>
public static class RetryAfterHeader
{
    /// <summary>A RateLimit-Reset value above this is an epoch timestamp, not a number of seconds (a day's worth of
    /// seconds is far below any epoch time since 1970-01-02).</summary>
    private const long EpochThresholdSeconds = 86_400;

    /// <summary>
    /// <c>Retry-After</c> as delta-seconds or HTTP-date (RFC 9110 §10.2.3); failing that <c>RateLimit-Reset</c> or
    /// <c>X-RateLimit-Reset</c> as seconds or as a Unix timestamp. Null when none is present or readable.
    /// A date in the past gives zero.
    /// </summary>
    public static TimeSpan? Read(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
                return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            if (retryAfter.Date is { } date)
                return Max(date - now, TimeSpan.Zero);
        }
        return ReadReset(headers, "RateLimit-Reset", now) ?? ReadReset(headers, "X-RateLimit-Reset", now);
    }

    private static TimeSpan? ReadReset(HttpResponseHeaders headers, string name, DateTimeOffset now)
    {
        if (!headers.TryGetValues(name, out var values))
            return null;
        var text = values.FirstOrDefault()?.Trim();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number < 0 || double.IsInfinity(number))
            return null;
        if (number > EpochThresholdSeconds)
            return Max(DateTimeOffset.FromUnixTimeMilliseconds((long)(number * 1000)) - now, TimeSpan.Zero);
        return TimeSpan.FromSeconds(number);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
