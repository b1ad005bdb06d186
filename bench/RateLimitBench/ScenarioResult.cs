namespace RateLimitBench;

/// <summary>Everything measured in one scenario. Every figure comes from this run; nothing is estimated.</summary>
internal sealed record ScenarioResult
{
    public required string Id { get; init; }
    public required string Shape { get; init; }
    public required double Limit { get; init; }
    public required double ShapeLongRunRate { get; init; }
    public required double WorkerRatePerReplica { get; init; }
    public required int Replicas { get; init; }
    public required int Requests { get; init; }
    public required int LiveRequests { get; init; }
    public required bool Completed { get; init; }
    public required int Outcomes { get; init; }
    public required int Failed { get; init; }
    public required long DuplicateOutcomes { get; init; }
    public required IReadOnlyList<string> FailureSamples { get; init; }
    public required double? StartSecondOfMinute { get; init; }
    public required double ElapsedSeconds { get; init; }
    public required double IdealSeconds { get; init; }
    public required double Efficiency { get; init; }
    public required int Calls { get; init; }
    public required IReadOnlyDictionary<int, int> CallsByStatus { get; init; }
    public required int Calls429 { get; init; }
    public required double Share429 { get; init; }
    public required int PeakInFlight { get; init; }
    public required int WorkerMaxConcurrentRequests { get; init; }
    public required int Max5sWindowCalls { get; init; }
    public required double Max5sWindowRatio { get; init; }
    public required double LiveP50 { get; init; }
    public required double LiveP95 { get; init; }
    public required double LiveMax { get; init; }
    public required double? LiveP95AfterFirstMinute { get; init; }
    public required double? SettleSeconds { get; init; }
    public required IReadOnlyList<int>? CallsPerSecond { get; init; }

    /// <summary>When each 429 was answered, in seconds from the first publish.</summary>
    public IReadOnlyList<double> Refused429At { get; init; } = [];
    public required IReadOnlyList<TargetCheck> Targets { get; init; }
}
