using System.Collections.Concurrent;
using System.Diagnostics;

namespace RateLimitBench;

/// <summary>For one scenario's request ids (the backlog and the live requests it may publish): the first outcome event
/// (or fault) seen for each, with the moment it arrived. Events of other ids (a previous scenario's stragglers) are ignored.</summary>
internal sealed class OutcomeTracker(IReadOnlySet<Guid> backlog, IReadOnlySet<Guid> live)
{
    private readonly ConcurrentDictionary<Guid, Outcome> _first = new();
    private int _backlogCount;
    private long _duplicates;

    public int BacklogCount => Volatile.Read(ref _backlogCount);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public IReadOnlyCollection<Outcome> Outcomes => [.. _first.Values];

    public bool TryGet(Guid requestId, out Outcome outcome) => _first.TryGetValue(requestId, out outcome!);

    public void Record(Guid requestId, OutcomeKind kind, string? detail = null)
    {
        var isBacklog = backlog.Contains(requestId);
        if (!isBacklog && !live.Contains(requestId))
            return;
        if (!_first.TryAdd(requestId, new Outcome(kind, Stopwatch.GetTimestamp(), detail)))
            Interlocked.Increment(ref _duplicates);
        else if (isBacklog)
            Interlocked.Increment(ref _backlogCount);
    }
}
