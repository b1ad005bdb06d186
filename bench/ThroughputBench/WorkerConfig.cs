namespace ThroughputBench;

/// <summary>The worker's concurrency settings for one run.</summary>
internal sealed record WorkerConfig(string Label, int ConcurrentMessageLimit, int PrefetchCount, int MaxConcurrentRequests)
{
    /// <summary>Concurrency C: C messages at once, C Upflow calls at once, prefetch 2C (the shipped ratio, 16 → 32).</summary>
    public static WorkerConfig AtConcurrency(int c) => new($"c={c}", c, 2 * c, c);

    public static WorkerConfig Defaults => new("defaults",
        BenchSettings.DefaultConcurrentMessageLimit, BenchSettings.DefaultPrefetchCount, BenchSettings.DefaultMaxConcurrentRequests);
}
