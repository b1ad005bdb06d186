namespace RateLimitBench;

/// <summary>The first outcome of a request: its kind, when it arrived (Stopwatch timestamp) and, for failures, why.</summary>
internal sealed record Outcome(OutcomeKind Kind, long At, string? Detail);
