namespace PortalLinkWorker.Upflow;

/// <summary>
/// A semaphore with two queues: a released permit goes to the first live waiter if there is one, else to the first
/// bulk waiter; and bulk callers together never hold more than <c>bulkPermits</c> of the permits, so that with
/// <c>bulkPermits &lt; permits</c> a live caller finds a free permit even while a campaign keeps the rest busy. Within
/// a lane, waiters are served in arrival order.
/// </summary>
public sealed class LaneSemaphore
{
    private readonly Lock _gate = new();
    private readonly int _permits;
    private readonly int _bulkPermits;
    private readonly LinkedList<Waiter> _live = new();
    private readonly LinkedList<Waiter> _bulk = new();
    private int _held;
    private int _bulkHeld;

    public LaneSemaphore(int permits, int bulkPermits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permits, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bulkPermits, 1);
        _permits = permits;
        _bulkPermits = Math.Min(bulkPermits, permits);
    }

    /// <summary>Waits for a permit; false when <paramref name="timeout"/> passed first (nothing is then held).</summary>
    public async Task<bool> WaitAsync(UpflowLane lane, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            // Nobody may overtake a waiter of the same or a higher priority.
            if (_live.Count == 0 && (lane == UpflowLane.Live || _bulk.Count == 0) && CanTake(lane))
            {
                Take(lane);
                return true;
            }
            waiter = new Waiter(lane);
            (lane == UpflowLane.Live ? _live : _bulk).AddLast(waiter.Node);
        }
        try
        {
            await waiter.Granted.Task.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_gate)
            {
                if (waiter.Node.List is { } queue)
                {
                    queue.Remove(waiter.Node);
                    // A live waiter leaving may let a bulk waiter through.
                    Grant();
                    if (e is OperationCanceledException)
                        throw;
                    return false;
                }
            }
            // Granted just as it gave up: hand the permit on.
            Release(lane);
            if (e is OperationCanceledException)
                throw;
            return false;
        }
    }

    public void Release(UpflowLane lane)
    {
        lock (_gate)
        {
            _held--;
            if (lane == UpflowLane.Bulk)
                _bulkHeld--;
            Grant();
        }
    }

    private bool CanTake(UpflowLane lane) =>
        _held < _permits && (lane == UpflowLane.Live || _bulkHeld < _bulkPermits);

    private void Take(UpflowLane lane)
    {
        _held++;
        if (lane == UpflowLane.Bulk)
            _bulkHeld++;
    }

    private void Grant()
    {
        while (_live.First is { } live && CanTake(UpflowLane.Live))
            Hand(_live, live.Value);
        while (_live.Count == 0 && _bulk.First is { } bulk && CanTake(UpflowLane.Bulk))
            Hand(_bulk, bulk.Value);
    }

    private void Hand(LinkedList<Waiter> queue, Waiter waiter)
    {
        queue.Remove(waiter.Node);
        Take(waiter.Lane);
        waiter.Granted.TrySetResult();
    }

    private sealed class Waiter
    {
        public Waiter(UpflowLane lane)
        {
            Lane = lane;
            Node = new LinkedListNode<Waiter>(this);
        }

        public UpflowLane Lane { get; }
        public LinkedListNode<Waiter> Node { get; }
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
