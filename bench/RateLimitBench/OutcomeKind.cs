namespace RateLimitBench;

/// <summary>What the observer bus saw for a request.</summary>
internal enum OutcomeKind
{
    Generated,
    Failed,
    Faulted,
}
