using System.Collections.Concurrent;
using System.Diagnostics;

namespace ThroughputBench;

/// <summary>Counts the outcome events of one batch of requests as the observer bus receives them.</summary>
internal sealed class OutcomeTracker(IReadOnlySet<Guid> expected)
{
    private readonly ConcurrentDictionary<Guid, byte> _seen = new();
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _generated, _failed, _faulted, _duplicates;

    public int Expected => expected.Count;
    public int Generated => _generated;
    public int Failed => _failed;
    public int Faulted => _faulted;
    public int Duplicates => _duplicates;
    public int Count => _seen.Count;
    public string? FirstProblem { get; private set; }

    /// <summary>Stopwatch timestamp of the event that completed the batch.</summary>
    public long CompletedAt { get; private set; }

    public void Record(Guid requestId, OutcomeKind kind, string? detail = null)
    {
        if (!expected.Contains(requestId))
            return;
        if (!_seen.TryAdd(requestId, 0))
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }
        switch (kind)
        {
            case OutcomeKind.Generated:
                Interlocked.Increment(ref _generated);
                break;
            case OutcomeKind.Failed:
                Interlocked.Increment(ref _failed);
                FirstProblem ??= detail;
                break;
            default:
                Interlocked.Increment(ref _faulted);
                FirstProblem ??= detail;
                break;
        }
        if (_seen.Count == expected.Count)
        {
            CompletedAt = Stopwatch.GetTimestamp();
            _all.TrySetResult();
        }
    }

    public async Task<bool> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _all.Task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
