namespace PortalLinkWorker.Upflow;

/// <summary>
/// The account-wide cap on Upflow calls in flight (<see cref="UpflowOptions.MaxConcurrentRequests"/> for the whole
/// fleet, not per process): a call is sent only while this process holds one of the account's slots
/// (<see cref="IUpflowSlotLocks"/>). Slots numbered from <see cref="UpflowOptions.BulkConcurrentRequests"/> up are for
/// live requests only, in every replica, so a live request always finds one a campaign cannot take.
/// </summary>
/// <remarks>
/// Taking a slot costs a database round trip, so a slot that comes free is handed straight to a caller of this process
/// that waits for one (live first), without asking the database, for up to <see cref="SlotLease"/> after it was taken;
/// then it goes back, and the other replicas, which ask every <see cref="PollInterval"/>, get their turn. Of the
/// callers waiting here only the first asks the database, so a saturated fleet costs each replica one query per
/// interval, not one per waiting call. A slot that goes back because its lease ran out is not taken again by this process
/// for <see cref="YieldTime"/>: the process that gives a slot back asks again the moment it is free, before any other
/// replica's next poll, so without it a replica that joins a saturated fleet finds a slot only when its poll happens to
/// fall into the moment between the give-back and the take.
/// </remarks>
public sealed class UpflowCallSlots
{
    /// <summary>How long a slot may pass from call to call in one process before it goes back to the fleet.</summary>
    public static readonly TimeSpan SlotLease = TimeSpan.FromSeconds(1);

    /// <summary>How often a process that waits for a slot asks again: well under one Upflow call.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>How long a slot whose lease ran out is left to the other replicas: two of their polls. When none wants it,
    /// it is idle for this long once per <see cref="SlotLease"/> (4 % of one slot while this process has callers waiting).</summary>
    public static readonly TimeSpan YieldTime = 2 * PollInterval;

    private readonly IUpflowSlotLocks _locks;
    private readonly TimeProvider _time;
    private readonly int _slots;
    private readonly int _bulkSlots;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, DateTimeOffset> _held = [];
    private readonly Dictionary<int, DateTimeOffset> _yielded = [];
    private readonly LinkedList<Waiter> _live = new();
    private readonly LinkedList<Waiter> _bulk = new();
    private TaskCompletionSource _wake = NewSignal();

    public UpflowCallSlots(IUpflowSlotLocks locks, UpflowOptions options, TimeProvider time)
    {
        _locks = locks;
        _time = time;
        _slots = options.MaxConcurrentRequests;
        _bulkSlots = Math.Min(options.BulkConcurrentRequests, _slots);
        _locks.SlotsLost += Lost;
    }

    /// <summary>Slots this process holds now (busy or being handed on).</summary>
    public int Held
    {
        get
        {
            lock (_gate)
                return _held.Count;
        }
    }

    /// <summary>Waits for a slot and returns its number; give it back with <see cref="Release"/>.</summary>
    public async Task<int> AcquireAsync(UpflowLane lane, CancellationToken cancellationToken)
    {
        var waiter = new Waiter(lane);
        lock (_gate)
            (lane == UpflowLane.Live ? _live : _bulk).AddLast(waiter.Node);
        try
        {
            while (true)
            {
                Task wake;
                bool first;
                lock (_gate)
                {
                    if (waiter.Granted.Task.IsCompleted)
                        return waiter.Granted.Task.Result;
                    first = (_live.First ?? _bulk.First) == waiter.Node;
                    wake = _wake.Task;
                }
                if (first && await TryTakeAsync(lane, cancellationToken) is { } slot)
                {
                    lock (_gate)
                    {
                        _held[slot] = _time.GetUtcNow();
                        if (!waiter.Granted.TrySetResult(slot))
                        {
                            // Handed one meanwhile: keep that one, give the new one to the next waiter or back.
                            if (Hand(slot))
                                _ = GiveBackAsync(slot);
                            return waiter.Granted.Task.Result;
                        }
                        waiter.Node.List?.Remove(waiter.Node);
                        WakeNext();
                        return slot;
                    }
                }
                await Task.WhenAny(waiter.Granted.Task, wake, Task.Delay(PollInterval, _time, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch
        {
            lock (_gate)
            {
                waiter.Node.List?.Remove(waiter.Node);
                WakeNext();
            }
            if (waiter.Granted.Task.IsCompletedSuccessfully)
                Release(waiter.Granted.Task.Result);
            throw;
        }
    }

    /// <summary>The call is over: the slot goes to a waiting caller of this process or back to the fleet.</summary>
    public void Release(int slot)
    {
        lock (_gate)
            if (!Hand(slot))
                return;
        _ = GiveBackAsync(slot);
    }

    /// <summary>Hands <paramref name="slot"/> to the first waiter that may use it while its lease lasts; returns true when
    /// it must go back to the fleet instead. Under <see cref="_gate"/>.</summary>
    private bool Hand(int slot)
    {
        if (!_held.TryGetValue(slot, out var takenAt))
            return false; // lost with the session: there is nothing to give back
        var now = _time.GetUtcNow();
        if (now - takenAt < SlotLease)
        {
            var waiter = _live.First ?? (slot < _bulkSlots ? _bulk.First : null);
            if (waiter is not null && waiter.Value.Granted.TrySetResult(slot))
            {
                waiter.List!.Remove(waiter);
                WakeNext();
                return false;
            }
        }
        else
        {
            _yielded[slot] = now;
        }
        _held.Remove(slot);
        return true;
    }

    private async Task GiveBackAsync(int slot)
    {
        try
        {
            await _locks.ReleaseAsync(slot, CancellationToken.None);
        }
        catch (UpflowSlotsLostException)
        {
            // The session is gone, and the slot with it (SlotsLost has told us).
        }
        lock (_gate)
            WakeNext();
    }

    private async Task<int?> TryTakeAsync(UpflowLane lane, CancellationToken cancellationToken)
    {
        // The store never takes a slot this process holds (IUpflowSlotLocks): only the ones left to the others are said.
        int[] skip;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var (slot, at) in _yielded)
                if (now - at >= YieldTime)
                    _yielded.Remove(slot);
            skip = [.. _yielded.Keys];
        }
        try
        {
            return await _locks.TryTakeAsync(0, lane == UpflowLane.Live ? _slots : _bulkSlots, skip, cancellationToken);
        }
        catch (UpflowSlotsLostException e)
        {
            if (cancellationToken.IsCancellationRequested)
                throw new OperationCanceledException("Cancelled while taking an Upflow call slot.", e, cancellationToken);
            throw;
        }
    }

    /// <summary>The session holding the slots is gone, and every slot with it: calls in flight finish, new ones take
    /// slots anew.</summary>
    private void Lost()
    {
        lock (_gate)
            _held.Clear();
    }

    /// <summary>Lets the first waiter ask the database now rather than at its next interval. Under <see cref="_gate"/>.</summary>
    private void WakeNext()
    {
        _wake.TrySetResult();
        _wake = NewSignal();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Waiter
    {
        public Waiter(UpflowLane lane)
        {
            Lane = lane;
            Node = new LinkedListNode<Waiter>(this);
        }

        public UpflowLane Lane { get; }
        public LinkedListNode<Waiter> Node { get; }
        public TaskCompletionSource<int> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
