using System.Collections.Concurrent;
using System.Diagnostics;

namespace RateLimitBench;

/// <summary>For one scenario's request ids: the first outcome event (or fault) seen for each, with the moment it arrived.
/// Events of other ids (a previous scenario's stragglers) are ignored.</summary>
internal sealed class OutcomeTracker(IReadOnlySet<Guid> ids)
{
    private readonly ConcurrentDictionary<Guid, Outcome> _first = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private long _duplicates;

    public IReadOnlySet<Guid> Ids => ids;

    public int Count => _first.Count;

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public IReadOnlyCollection<Outcome> Outcomes => [.. _first.Values];

    public void Record(Guid requestId, OutcomeKind kind, string? detail = null)
    {
        if (!ids.Contains(requestId))
            return;
        if (_first.TryAdd(requestId, new Outcome(kind, Stopwatch.GetTimestamp(), detail)))
            _arrived.Release();
        else
            Interlocked.Increment(ref _duplicates);
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have an outcome; false on timeout.</summary>
    public async Task<bool> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Count < count)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                return false;
            await _arrived.WaitAsync(TimeSpan.FromMilliseconds(250));
        }
        return true;
    }
}
