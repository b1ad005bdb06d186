namespace PortalLinkWorker.Upflow;

/// <summary>
/// The last check before a call leaves this process: at most ⌈rate⌉ calls in any ⌈rate⌉/rate seconds (at least a
/// second), counted by when Upflow saw them, as near as this process can tell, not by the sending times the rate budget
/// reserved for them.
/// </summary>
/// <remarks>
/// The budget reserves evenly spaced sending times, but a call can reach Upflow later than its reservation while the
/// calls after it are on time: it waited for a call slot or a busy thread pool, or for a new connection to be opened (a
/// TCP and TLS handshake: every call at the start of a busy run, and whenever more calls are in flight than there are
/// idle connections). Measured against a strict sliding one-second window at the limit, on 20 ms answers: the first two
/// calls of a run reached the simulator 17 and 48 ms after they left (both on new connections; later ones 1 ms), and the
/// call twenty after the first drew a 429 1.6 s into the run, which cost a second's pause and 6 % of the rate for the
/// rest of the run. So a call that left while a connection was being opened is taken to have been seen as late as its
/// answer allows (its answer less the quickest round trip on a warm connection), every other call when it left; and the
/// call that would make ⌈rate⌉ + 1 in the window waits. While calls are on time this costs nothing; a late one costs its
/// lateness once. Only calls on new connections are corrected: on warm ones a slow answer says Upflow was slow to work,
/// not that the call arrived late, and reading it so would slow every window by Upflow's jitter. Per process: each
/// replica keeps its own calls apart; the shared reservations keep the fleet's apart.
/// </remarks>
public sealed class SendingWindow(TimeProvider time)
{
    /// <summary>At rates this high the window is not what limits anyone; it only bounds the memory kept.</summary>
    private const int MaxCount = 10_000;

    /// <summary>How much closer than they left two calls may reach Upflow: what this process can see of a call is when it
    /// handed it to the HTTP handler, and the write to the socket can come later. Calls that left a window apart reached
    /// the simulator up to 1.1 ms closer on an idle machine, and a call that left on time was counted 0.7 ms too early for
    /// a strict one-second window after a 140-ms stall of the shared 2-core machine; 10 ms leaves room for a real network
    /// and costs 1 % of a one-second window while calls go out at the full rate.</summary>
    public static readonly TimeSpan TransitJitter = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    /// <summary>This process's latest calls, oldest first; never more than the window's count.</summary>
    private readonly Queue<SentCall> _sent = new();
    private long _connectionsOpened;
    private TimeSpan _quickestRoundTrip = TimeSpan.MaxValue;

    /// <summary>How many calls the window holds at <paramref name="rate"/>: ⌈rate⌉ (at least 1).</summary>
    public static int Count(double rate) => (int)Math.Clamp(Math.Ceiling(rate), 1, MaxCount);

    /// <summary>The window's length at <paramref name="rate"/>: ⌈rate⌉/rate, at least a second, so that calls evenly
    /// spaced at the rate fit it, and <paramref name="jitter"/> (default <see cref="TransitJitter"/>) more.</summary>
    public static TimeSpan Length(double rate, TimeSpan? jitter = null) =>
        TimeSpan.FromSeconds(Count(rate) / rate) + (jitter ?? TransitJitter);

    /// <summary>The spacing of calls that keeps them inside the window at <paramref name="rate"/>: its length over its
    /// count.</summary>
    public static TimeSpan Spacing(double rate, TimeSpan? jitter = null) => Length(rate, jitter) / Count(rate);

    /// <summary>The HTTP handler opened a connection to Upflow (its handshakes are done).</summary>
    public void ConnectionOpened() => Interlocked.Increment(ref _connectionsOpened);

    /// <summary>Waits until a call may leave without making more than ⌈<paramref name="rate"/>⌉ in the window, and records
    /// it. A rate of 0 or less (no limit) only records it.</summary>
    public async Task<SentCall> SendAsync(double rate, CancellationToken cancellationToken)
    {
        while (true)
        {
            DateTimeOffset until;
            lock (_gate)
            {
                var now = time.GetUtcNow();
                if (NextFree(rate) is not { } free || free <= now)
                    return Record(now, rate);
                until = free;
            }
            // Whole milliseconds, never 0: Task.Delay drops the fraction, and a wait of 0 would spin.
            var milliseconds = Math.Max(1, Math.Ceiling((until - time.GetUtcNow()).TotalMilliseconds));
            await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), time, cancellationToken);
        }
    }

    /// <summary>Upflow answered <paramref name="call"/> (any status); returns the latest time Upflow can be taken to have
    /// seen it.</summary>
    public DateTimeOffset Answered(SentCall call)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            call.AnsweredAt = now;
            call.OnNewConnection = Interlocked.Read(ref _connectionsOpened) != call.ConnectionsOpened;
            if (!call.OnNewConnection && now - call.SentAt < _quickestRoundTrip)
                _quickestRoundTrip = now - call.SentAt;
            return SeenBy(call);
        }
    }

    private DateTimeOffset? NextFree(double rate)
    {
        if (rate <= 0)
            return null;
        var count = Count(rate);
        // A rate lowered since the last call: only the latest ⌈rate⌉ calls count now.
        while (_sent.Count > count)
            _sent.Dequeue();
        // The call that would be ⌈rate⌉ + 1 may leave a window's length after the one ⌈rate⌉ calls back was seen.
        return _sent.Count < count ? null : SeenBy(_sent.Peek()) + Length(rate);
    }

    /// <summary>The latest time Upflow can be taken to have seen <paramref name="call"/>: when it left, or, on a new
    /// connection, its answer less the quickest round trip on a warm one (known by now, if not when it was answered), or
    /// its answer itself while no warm round trip is known (the first calls of a process: two replicas' first calls, on
    /// new connections, reached a strict window together and drew a 429 two seconds into the run).</summary>
    private DateTimeOffset SeenBy(SentCall call)
    {
        if (call is not { OnNewConnection: true, AnsweredAt: { } answered })
            return call.SentAt;
        var seen = _quickestRoundTrip == TimeSpan.MaxValue ? answered : answered - _quickestRoundTrip;
        return seen > call.SentAt ? seen : call.SentAt;
    }

    private SentCall Record(DateTimeOffset at, double rate)
    {
        var call = new SentCall(at, Interlocked.Read(ref _connectionsOpened));
        _sent.Enqueue(call);
        if (_sent.Count > Count(rate))
            _sent.Dequeue();
        return call;
    }

    /// <summary>One call as this process sent it.</summary>
    public sealed class SentCall(DateTimeOffset sentAt, long connectionsOpened)
    {
        /// <summary>When it left this process (local clock).</summary>
        public DateTimeOffset SentAt { get; } = sentAt;

        internal long ConnectionsOpened { get; } = connectionsOpened;

        /// <summary>The sending time its rate token reserved (local clock): when the budget meant it to leave.</summary>
        internal DateTimeOffset? Due { get; set; }

        internal DateTimeOffset? AnsweredAt { get; set; }

        /// <summary>A connection was opened while it was out: it may have waited for one.</summary>
        internal bool OnNewConnection { get; set; }
    }
}
