using System.Collections.Concurrent;
using UpflowSimulator.RateLimits;

namespace UpflowSimulator;

/// <summary>
/// Mutable runtime state of one simulator instance: the current options, the random draws,
/// the requests in flight and their peak, the rate-limit shape and the sim-fail counters.
/// </summary>
internal sealed class SimulatorState
{
    private readonly Lock randomLock = new();
    private readonly ConcurrentDictionary<string, int> failCounters = new(StringComparer.Ordinal);
    private SimulatorOptions options;
    private Random random;
    private IRateLimitShape? rateLimit;
    private int inFlight;
    private int received;
    private int peakReceived;

    public SimulatorState(SimulatorOptions options, TimeProvider timeProvider)
    {
        this.options = options;
        random = CreateRandom(options.Seed);
        TimeProvider = timeProvider;
        rateLimit = CreateRateLimit(options, timeProvider);
    }

    public SimulatorOptions Options => Volatile.Read(ref options);

    public TimeProvider TimeProvider { get; }

    /// <summary>Installs new options; the rate limit restarts empty (a full bucket, no call in any window) so a new rate or shape applies at once, and the random sequence restarts from the seed.</summary>
    public void Replace(SimulatorOptions newOptions)
    {
        lock (randomLock)
        {
            Volatile.Write(ref options, newOptions);
            Volatile.Write(ref rateLimit, CreateRateLimit(newOptions, TimeProvider));
            random = CreateRandom(newOptions.Seed);
        }
    }

    /// <summary>Admits a call under the configured rate limit (always, when there is none), or returns how long until one would be.</summary>
    public bool TryAdmitRate(out TimeSpan retryAfter)
    {
        if (Volatile.Read(ref rateLimit) is { } shape)
        {
            return shape.TryAdmit(out retryAfter);
        }

        retryAfter = TimeSpan.Zero;
        return true;
    }

    /// <summary>Two draws per call, always taken, so a seeded run gives the same sequence whatever path each call takes.</summary>
    public (double Slow, double Error) Draw()
    {
        lock (randomLock)
        {
            return (random.NextDouble(), random.NextDouble());
        }
    }

    /// <summary>
    /// Counts a call received (for <see cref="PeakInFlight"/>) and admits it when fewer than
    /// <paramref name="maxConcurrent"/> (0: no cap) admitted calls are in flight. Every call is followed by
    /// <see cref="ExitRequest"/> with the answer of this method.
    /// </summary>
    public bool TryEnterRequest(int maxConcurrent)
    {
        var now = Interlocked.Increment(ref received);
        var peak = Volatile.Read(ref peakReceived);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref peakReceived, now, peak);
            if (seen == peak)
            {
                break;
            }

            peak = seen;
        }

        var count = Interlocked.Increment(ref inFlight);
        if (maxConcurrent > 0 && count > maxConcurrent)
        {
            Interlocked.Decrement(ref inFlight);
            return false;
        }

        return true;
    }

    public void ExitRequest(bool entered)
    {
        Interlocked.Decrement(ref received);
        if (entered)
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    /// <summary>Calls admitted under the in-flight cap and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>
    /// The most calls received and not yet answered at one moment since the start or the last <see cref="Reset"/>,
    /// counting those refused by the in-flight cap: how many calls the callers had open at once.
    /// </summary>
    public int PeakInFlight => Volatile.Read(ref peakReceived);

    /// <summary>Counts a call for a sim-fail customer and returns its 1-based number.</summary>
    public int CountFailCandidate(string customerId) => failCounters.AddOrUpdate(customerId, 1, (_, n) => n + 1);

    public void Reset()
    {
        failCounters.Clear();
        Volatile.Write(ref peakReceived, Volatile.Read(ref received));
        lock (randomLock)
        {
            Volatile.Write(ref rateLimit, CreateRateLimit(Options, TimeProvider));
            random = CreateRandom(Options.Seed);
        }
    }

    private static IRateLimitShape? CreateRateLimit(SimulatorOptions options, TimeProvider time) =>
        options.RateLimitPerSecond > 0 ? RateLimitShapes.Create(options.RateLimitShape, options.RateLimitPerSecond, time) : null;

    private static Random CreateRandom(int? seed) => seed is { } value ? new Random(value) : new Random();
}
