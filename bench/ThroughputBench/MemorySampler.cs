using System.Diagnostics;
using PortalLinkWorker.TestKit;

namespace ThroughputBench;

/// <summary>Reads the RSS of the measured process(es) at a fixed interval during a run (for two processes, their sum).</summary>
internal sealed class MemorySampler(int[] pids, TimeSpan interval)
{
    private readonly List<MemorySample> _samples = [];

    public async Task RunAsync(OutcomeTracker tracker, long started, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                var rss = pids.Sum(p => ProcessMemory.Read(p)?.Rss ?? 0);
                _samples.Add(new MemorySample(Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 2), Stats.Mb(rss), tracker.Count));
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Min, median and max RSS once the first 10 % of the links are done, and the spread around the median.</summary>
    public MemoryProfile Profile(int requests)
    {
        var warmUp = requests / 10;
        var steady = _samples.Where(s => s.Links >= warmUp).Select(s => s.RssMb).ToArray();
        if (steady.Length == 0)
            steady = [.. _samples.Select(s => s.RssMb)];
        var median = Stats.Median(steady);
        var min = steady.Length == 0 ? double.NaN : steady.Min();
        var max = steady.Length == 0 ? double.NaN : steady.Max();
        return new MemoryProfile(min, median, max,
            Math.Round((median - min) / median * 100, 1), Math.Round((max - median) / median * 100, 1),
            _samples.Count == 0 ? double.NaN : _samples.Max(s => s.RssMb), warmUp, [.. _samples]);
    }
}
