using System.Diagnostics;

namespace PortalLinkWorker.TestKit;

/// <summary>
/// Every outcome event and fault the observer bus saw for the requests it follows, per request in arrival order. The
/// first outcome of a request is its answer and is counted by kind; any later one is a duplicate. A tracker that follows
/// a set of request ids (a benchmark's batch) ignores every other id (an earlier batch's stragglers) and knows when each
/// of them has its answer; one that follows no set keeps everything (a test fixture).
/// </summary>
public sealed class OutcomeTracker(IReadOnlySet<Guid>? followed = null)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, List<Outcome>> _byRequest = [];
    private readonly List<Outcome> _firsts = [];
    private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _arrived = new(0);
    private int _generated, _failed, _faulted, _duplicates;

    /// <summary>How many requests it follows; 0 when it follows every request.</summary>
    public int Expected => followed?.Count ?? 0;

    /// <summary>Requests with an answer.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _byRequest.Count;
        }
    }

    public int Generated => Volatile.Read(ref _generated);
    public int Failed => Volatile.Read(ref _failed);
    public int Faulted => Volatile.Read(ref _faulted);

    /// <summary>Outcomes after a request's first.</summary>
    public int Duplicates => Volatile.Read(ref _duplicates);

    /// <summary>Why the first failed or faulted answer failed.</summary>
    public string? FirstProblem { get; private set; }

    /// <summary>Stopwatch timestamp of the answer that completed the followed set; 0 until then.</summary>
    public long CompletedAt { get; private set; }

    public void Record(Guid requestId, OutcomeKind kind, object message, string? detail = null)
    {
        if (followed is not null && !followed.Contains(requestId))
            return;
        var outcome = new Outcome(requestId, kind, Stopwatch.GetTimestamp(), detail, message);
        lock (_gate)
        {
            if (_byRequest.TryGetValue(requestId, out var seen))
            {
                seen.Add(outcome);
                _duplicates++;
            }
            else
            {
                _byRequest[requestId] = [outcome];
                _firsts.Add(outcome);
                switch (kind)
                {
                    case OutcomeKind.Generated:
                        _generated++;
                        break;
                    case OutcomeKind.Failed:
                        _failed++;
                        FirstProblem ??= detail;
                        break;
                    default:
                        _faulted++;
                        FirstProblem ??= detail;
                        break;
                }
                if (followed is not null && _byRequest.Count == followed.Count)
                {
                    CompletedAt = outcome.At;
                    _allAnswered.TrySetResult();
                }
            }
        }
        _arrived.Release();
    }

    /// <summary>Every outcome seen for a request, in arrival order.</summary>
    public IReadOnlyList<Outcome> OutcomesOf(Guid requestId)
    {
        lock (_gate)
            return _byRequest.TryGetValue(requestId, out var seen) ? [.. seen] : [];
    }

    /// <summary>Every outcome seen, in arrival order.</summary>
    public IReadOnlyList<Outcome> All
    {
        get
        {
            lock (_gate)
                return [.. _byRequest.Values.SelectMany(o => o).OrderBy(o => o.At)];
        }
    }

    /// <summary>Each request's answer (its first outcome), in arrival order.</summary>
    public IReadOnlyList<Outcome> Answers
    {
        get
        {
            lock (_gate)
                return [.. _firsts];
        }
    }

    public bool TryGetAnswer(Guid requestId, out Outcome answer)
    {
        lock (_gate)
        {
            if (_byRequest.TryGetValue(requestId, out var seen))
            {
                answer = seen[0];
                return true;
            }
        }
        answer = null!;
        return false;
    }

    /// <summary>How many of <paramref name="requestIds"/> have an answer.</summary>
    public int AnsweredOf(IEnumerable<Guid> requestIds)
    {
        lock (_gate)
            return requestIds.Count(_byRequest.ContainsKey);
    }

    /// <summary>Waits until every followed request has its answer; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForAllAsync(TimeSpan timeout)
    {
        if (followed is null)
            throw new InvalidOperationException("This tracker follows every request: there is no \"all\" to wait for.");
        try
        {
            await _allAnswered.Task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Waits until <paramref name="condition"/> over what has arrived holds, waking on each arrival; a
    /// <see cref="TimeoutException"/> saying <paramref name="describe"/> after <paramref name="patience"/>.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan patience, Func<string> describe)
    {
        using var limit = new CancellationTokenSource(patience);
        while (!condition())
        {
            try
            {
                await _arrived.WaitAsync(Poll, limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(describe());
            }
        }
    }
}
