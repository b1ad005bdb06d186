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
}
