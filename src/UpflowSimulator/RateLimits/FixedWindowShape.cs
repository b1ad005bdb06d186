namespace UpflowSimulator.RateLimits;

/// <summary>
/// At most the limit per calendar window (a whole second or a whole minute of the <see cref="TimeProvider"/>'s UTC time);
/// the count restarts at each window's start, so two full windows back to back allow twice the limit within a moment.
/// A refused call waits for the window's end.
/// </summary>
public sealed class FixedWindowShape : IRateLimitShape
{
    private readonly Lock gate = new();
    private readonly TimeProvider time;
    private long windowIndex = long.MinValue;
    private int count;

    /// <summary>
    /// At most <paramref name="limit"/> (at least 1) calls per <paramref name="window"/>, which must divide a day into
    /// whole windows (a second and a minute do) so windows start on the clock's whole seconds or minutes.
    /// </summary>
    public FixedWindowShape(int limit, TimeSpan window, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (window <= TimeSpan.Zero || TimeSpan.TicksPerDay % window.Ticks != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "The window must divide a day into whole windows");
        }

        Limit = limit;
        Window = window;
        this.time = time;
    }

    /// <summary>Calls admitted per window at most.</summary>
    public int Limit { get; }

    /// <summary>The length of one window.</summary>
    public TimeSpan Window { get; }

    /// <inheritdoc />
    public bool TryAdmit(out TimeSpan retryAfter)
    {
        lock (gate)
        {
            var now = time.GetUtcNow().UtcTicks;
            var index = now / Window.Ticks;
            if (index != windowIndex)
            {
                windowIndex = index;
                count = 0;
            }

            if (count < Limit)
            {
                count++;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromTicks(((index + 1) * Window.Ticks) - now);
            return false;
        }
    }
}
