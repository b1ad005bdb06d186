namespace RateLimitBench;

/// <summary>Small statistics over measured values.</summary>
internal static class Stats
{
    /// <summary>Nearest-rank percentile (p in 0..100) of the values; NaN when there are none.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
            return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The most timestamps falling in any window of <paramref name="window"/> (start inclusive, end exclusive).</summary>
    public static int MaxInWindow(IReadOnlyList<DateTimeOffset> sorted, TimeSpan window)
    {
        var best = 0;
        var end = 0;
        for (var start = 0; start < sorted.Count; start++)
        {
            if (end < start)
                end = start;
            while (end < sorted.Count && sorted[end] - sorted[start] < window)
                end++;
            best = Math.Max(best, end - start);
        }
        return best;
    }

    /// <summary>Calls in each whole second of UTC time (aligned like the simulator's per-second window), from the second
    /// of the first call to the second of the last; <paramref name="firstSecond"/> is where the buckets start.</summary>
    public static int[] PerSecond(IReadOnlyList<DateTimeOffset> sorted, out DateTimeOffset firstSecond)
    {
        firstSecond = default;
        if (sorted.Count == 0)
            return [];
        var first = sorted[0].UtcTicks / TimeSpan.TicksPerSecond;
        var buckets = new int[(sorted[^1].UtcTicks / TimeSpan.TicksPerSecond) - first + 1];
        foreach (var at in sorted)
            buckets[(at.UtcTicks / TimeSpan.TicksPerSecond) - first]++;
        firstSecond = new DateTimeOffset(first * TimeSpan.TicksPerSecond, TimeSpan.Zero);
        return buckets;
    }

    /// <summary>
    /// The index of the first bucket from which every bucket stays within <paramref name="tolerance"/> of
    /// <paramref name="target"/>, leaving out the last two buckets: the backlog runs out in one of them, and the calls
    /// that end it fall in a UTC second the run does not fill (a run steady at 19–20/s for 40 s ended "18 13" and was
    /// reported as never settled); null when the bucket before them is not within it, or there is none.
    /// </summary>
    public static int? SettledFrom(IReadOnlyList<int> buckets, double target, double tolerance)
    {
        int? from = null;
        for (var i = buckets.Count - 3; i >= 0 && Math.Abs(buckets[i] - target) <= tolerance * target; i--)
            from = i;
        return from;
    }
}
