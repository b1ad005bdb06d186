using System.Collections.Concurrent;

namespace UpflowSimulator;

/// <summary>
/// Mutable runtime state of one simulator instance: the current options, the random draws,
/// the requests in flight, the per-key token buckets and the sim-fail counters.
/// </summary>
internal sealed class SimulatorState
{
    private readonly Lock randomLock = new();
    private readonly ConcurrentDictionary<string, int> failCounters = new(StringComparer.Ordinal);
    private SimulatorOptions options;
    private Random random;
    private int inFlight;

    public SimulatorState(SimulatorOptions options, TimeProvider timeProvider)
    {
        this.options = options;
        random = CreateRandom(options.Seed);
        TimeProvider = timeProvider;
        RateLimiter = new TokenBucketLimiter(timeProvider);
    }

    public SimulatorOptions Options => Volatile.Read(ref options);

    public TimeProvider TimeProvider { get; }

    public TokenBucketLimiter RateLimiter { get; }

    /// <summary>Installs new options; buckets restart full so a new rate applies at once, and the random sequence restarts from the seed.</summary>
    public void Replace(SimulatorOptions newOptions)
    {
        lock (randomLock)
        {
            Volatile.Write(ref options, newOptions);
            random = CreateRandom(newOptions.Seed);
        }

        RateLimiter.Clear();
    }

    /// <summary>Two draws per call, always taken, so a seeded run gives the same sequence whatever path each call takes.</summary>
    public (double Slow, double Error) Draw()
    {
        lock (randomLock)
        {
            return (random.NextDouble(), random.NextDouble());
        }
    }

    public bool TryEnterRequest(int maxConcurrent)
    {
        var count = Interlocked.Increment(ref inFlight);
        if (maxConcurrent > 0 && count > maxConcurrent)
        {
            Interlocked.Decrement(ref inFlight);
            return false;
        }

        return true;
    }

    public void ExitRequest() => Interlocked.Decrement(ref inFlight);

    /// <summary>Calls received and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>Counts a call for a sim-fail customer and returns its 1-based number.</summary>
    public int CountFailCandidate(string customerId) => failCounters.AddOrUpdate(customerId, 1, (_, n) => n + 1);

    public void Reset()
    {
        failCounters.Clear();
        RateLimiter.Clear();
        lock (randomLock)
        {
            random = CreateRandom(Options.Seed);
        }
    }

    private static Random CreateRandom(int? seed) => seed is { } value ? new Random(value) : new Random();
}
