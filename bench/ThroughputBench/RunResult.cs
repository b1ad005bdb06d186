namespace ThroughputBench;

/// <summary>One measured run of one scenario. CPU seconds are utime + stime from /proc over the measured window only.</summary>
internal sealed record RunResult
{
    public required string Scenario { get; init; }
    public required string Config { get; init; }
    public int? Concurrency { get; init; }
    public int? PrefetchCount { get; init; }
    public int? UpflowConcurrency { get; init; }
    public int Processes { get; init; } = 1;

    /// <summary>Each worker's Npgsql <c>Maximum Pool Size</c> (worker runs only).</summary>
    public int? PoolSize { get; init; }
    public int Repetition { get; init; }
    public int Requests { get; init; }
    public double Seconds { get; init; }

    /// <summary>Wall time of the whole run: set-up, start-up, warm-up, measured window, stop and clean-up.</summary>
    public double WallSeconds { get; init; }
    public double PerSecond { get; init; }

    /// <summary>CPU of the measured process(es): the worker(s), the bare loop, or the self-timed child.</summary>
    public double CpuSeconds { get; init; }
    public double CoreMsPerOperation { get; init; }
    public double? PeakRssMb { get; init; }
    public double? SimulatorCpuSeconds { get; init; }
    public double? BenchCpuSeconds { get; init; }

    /// <summary>The whole machine's busy CPU over the window, in cores (PostgreSQL, RabbitMQ and other users included).</summary>
    public double? MachineBusyCores { get; init; }

    public int Generated { get; init; }
    public int Failed { get; init; }
    public int Faulted { get; init; }
    public int DuplicateEvents { get; init; }
    public Dictionary<string, long>? RowsByStatus { get; init; }
    public Dictionary<string, long>? SimulatorCallsByStatus { get; init; }
    public bool Ok { get; init; }
    public string? Problem { get; init; }
    public MemoryProfile? Memory { get; init; }
}

/// <summary>RSS over a long run: samples every second, statistics after the warm-up (the first 10 % of the links).</summary>
internal sealed record MemoryProfile(
    double MinMb,
    double MedianMb,
    double MaxMb,
    double SpreadBelowPercent,
    double SpreadAbovePercent,
    double PeakMb,
    int WarmUpLinks,
    List<MemorySample> Samples);

internal sealed record MemorySample(double Seconds, double RssMb, int Links);
