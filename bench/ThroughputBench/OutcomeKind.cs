namespace ThroughputBench;

internal enum OutcomeKind
{
    Generated,
    Failed,
    Faulted,
}
