namespace RateLimitBench;

/// <summary>Everything measured in one scenario. Every figure comes from this run; nothing is estimated.</summary>
internal sealed record ScenarioResult
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required double Limit { get; init; }
    public required double WorkerRatePerReplica { get; init; }
    public required int Replicas { get; init; }
    public required double SimulatorRateLimit { get; init; }
    public required int Requests { get; init; }
    public required bool Completed { get; init; }
    public required int Outcomes { get; init; }
    public required int Generated { get; init; }
    public required int Failed { get; init; }
    public required int Faulted { get; init; }
    public required long DuplicateOutcomes { get; init; }
    public required IReadOnlyList<string> FailureSamples { get; init; }
    public required double PublishSeconds { get; init; }
    public required double ElapsedSeconds { get; init; }
    public required double IdealSeconds { get; init; }
    public required double ElapsedRatio { get; init; }
    public required int Calls { get; init; }
    public required double? FirstCallSeconds { get; init; }
    public required double? LastCallSeconds { get; init; }
    public required double? CallRateFirstToLast { get; init; }
    public required IReadOnlyDictionary<int, int> CallsByStatus { get; init; }
    public required int Calls429 { get; init; }
    public required double Share429 { get; init; }
    public required int BudgetWaitCount { get; init; }
    public required double BudgetWaitP50 { get; init; }
    public required double BudgetWaitP95 { get; init; }
    public required double BudgetWaitP99 { get; init; }
    public required double BudgetWaitMax { get; init; }
    public required int Max5sWindowCalls { get; init; }
    public required double Max5sWindowRatio { get; init; }
    public required double? MinEffectiveRate { get; init; }
    public required IReadOnlyList<RateSample> EffectiveRate { get; init; }
    public double? OutageStartSeconds { get; init; }
    public double? OutageSeconds { get; init; }
    public double? RecoveryToFirst200Seconds { get; init; }
    public int? CallsDuringOutage { get; init; }
    public required IReadOnlyList<TargetCheck> Targets { get; init; }
}
