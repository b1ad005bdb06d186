namespace UpflowSimulator.RateLimits;

/// <summary>
/// A log of admitted calls: a call is admitted when fewer than the limit were admitted in the second before it, so no
/// one-second window ever holds more than the limit. A refused call waits for the oldest logged call to leave the window.
/// </summary>
public sealed class SlidingWindowShape : IRateLimitShape
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private readonly Queue<long> admitted = new();
    private readonly TimeProvider time;

    /// <summary>At most <paramref name="limit"/> (at least 1) calls in any one-second window.</summary>
    public SlidingWindowShape(int limit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
        this.time = time;
    }

    /// <summary>Calls admitted in any one-second window at most.</summary>
    public int Limit { get; }

    /// <inheritdoc />
    public bool TryAdmit(out TimeSpan retryAfter)
    {
        lock (gate)
        {
            var now = time.GetTimestamp();
            while (admitted.Count > 0 && time.GetElapsedTime(admitted.Peek(), now) >= Window)
            {
                admitted.Dequeue();
            }

            if (admitted.Count < Limit)
            {
                admitted.Enqueue(now);
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = Window - time.GetElapsedTime(admitted.Peek(), now);
            return false;
        }
    }
}
