using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using PortalLinkContracts;

namespace RateLimitBench;

/// <summary>Runs one scenario: fresh database, fresh simulator state, worker host(s), N requests published at once,
/// then reads the outcomes, the simulator's call log and the worker's metrics.</summary>
internal sealed class ScenarioRunner(BenchSettings settings, BenchEnvironment env)
{
    private const int PublishChunk = 500;

    public async Task<ScenarioResult> RunAsync(ScenarioSpec spec)
    {
        Log($"scenario {spec.Id}: {spec.Title}");
        await env.ResetSimulatorAsync();
        await env.ConfigureSimulatorAsync(new
        {
            rateLimitPerSecond = spec.SimulatorRate,
            latencyMs = settings.LatencyMs,
            errorRate = 0.0,
            slowRate = 0.0,
            maxConcurrentRequests = 0,
        });
        var database = await env.CreateDatabaseAsync(spec.Id);

        using var metrics = new WorkerMetrics();
        var hosts = new List<IHost>();
        try
        {
            // One after the other: the first host migrates the fresh database before the second starts.
            for (var i = 0; i < spec.Replicas; i++)
            {
                var host = env.BuildWorker(database, spec.WorkerRate);
                hosts.Add(host);
                await host.StartAsync();
            }

            var runTag = Guid.NewGuid().ToString("N")[..8];
            var requests = Enumerable.Range(0, spec.Requests)
                .Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:bench-{spec.Id}-{runTag}-{i}"))
                .ToList();
            var tracker = new OutcomeTracker(requests.Select(r => r.RequestId).ToHashSet());
            env.Track(tracker);

            var ideal = spec.Requests / settings.Limit;
            var timeout = TimeSpan.FromSeconds(ideal * 3 + 120) + (spec.Outage ?? TimeSpan.Zero);

            var started = Stopwatch.GetTimestamp();
            var startedAt = DateTimeOffset.UtcNow;
            var samples = new List<RateSample>();
            using var stopSampling = new CancellationTokenSource();
            var sampling = SampleRatesAsync(metrics, started, samples, stopSampling.Token);

            foreach (var chunk in requests.Chunk(PublishChunk))
                await Task.WhenAll(chunk.Select(r => env.Bus.Publish(r)));
            var publishSeconds = Seconds(started, Stopwatch.GetTimestamp());
            Log($"  published {spec.Requests} in {publishSeconds:0.0} s");

            double? outageStart = null;
            DateTimeOffset? recoveryAt = null;
            DateTimeOffset? outageAt = null;
            if (spec.Outage is { } outage)
            {
                var third = spec.Requests / 3;
                if (!await tracker.WaitForAsync(third, timeout))
                    Log($"  only {tracker.Count} outcomes before the outage could start");
                outageAt = DateTimeOffset.UtcNow;
                await env.ConfigureSimulatorAsync(new { errorRate = 1.0 });
                outageStart = Seconds(started, Stopwatch.GetTimestamp());
                Log($"  outage starts at {outageStart:0.0} s after {tracker.Count} outcomes, for {outage.TotalSeconds:0} s");
                await Task.Delay(outage);
                recoveryAt = DateTimeOffset.UtcNow;
                await env.ConfigureSimulatorAsync(new { errorRate = 0.0 });
                Log($"  outage over at {Seconds(started, Stopwatch.GetTimestamp()):0.0} s, {tracker.Count} outcomes so far");
            }

            var completed = await tracker.WaitForAsync(spec.Requests, timeout);
            var finished = Stopwatch.GetTimestamp();
            await stopSampling.CancelAsync();
            await sampling;
            // Late duplicates and the last calls are in the log by now; let stragglers land before reading it.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var calls = (await env.CallsAsync()).Where(c => c.At >= startedAt.AddSeconds(-1)).ToList();
            var waits = metrics.Waits();

            return Measure(spec, tracker, completed, started, finished, publishSeconds, calls, waits, samples,
                startedAt, outageAt, outageStart, recoveryAt);
        }
        finally
        {
            foreach (var host in hosts)
            {
                try
                {
                    await host.StopAsync();
                }
                catch (Exception e)
                {
                    Log($"  stopping a worker host failed: {e.GetType().Name}: {e.Message}");
                }
                host.Dispose();
            }
        }
    }

    private ScenarioResult Measure(ScenarioSpec spec, OutcomeTracker tracker, bool completed, long started, long finished,
        double publishSeconds, List<UpflowSimulator.CallRecord> calls, double[] waits, List<RateSample> samples,
        DateTimeOffset startedAt, DateTimeOffset? outageAt, double? outageStart, DateTimeOffset? recoveryAt)
    {
        var outcomes = tracker.Outcomes;
        var last = outcomes.Count == 0 ? started : outcomes.Max(o => o.At);
        var elapsed = completed ? Seconds(started, last) : Seconds(started, finished);
        var ideal = spec.Requests / settings.Limit;
        var byStatus = calls.GroupBy(c => c.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        var calls429 = byStatus.GetValueOrDefault(429);
        Array.Sort(waits);
        var sortedCalls = calls.Select(c => c.At).Order().ToList();
        var max5s = Stats.MaxInWindow(sortedCalls, TimeSpan.FromSeconds(5));
        double? firstCall = sortedCalls.Count == 0 ? null : (sortedCalls[0] - startedAt).TotalSeconds;
        double? lastCall = sortedCalls.Count == 0 ? null : (sortedCalls[^1] - startedAt).TotalSeconds;
        double? callRate = sortedCalls.Count < 2 ? null : (sortedCalls.Count - 1) / (sortedCalls[^1] - sortedCalls[0]).TotalSeconds;
        var generated = outcomes.Count(o => o.Kind == OutcomeKind.Generated);
        var failed = outcomes.Count(o => o.Kind == OutcomeKind.Failed);
        var faulted = outcomes.Count(o => o.Kind == OutcomeKind.Faulted);
        var rates = samples.SelectMany(s => s.Rates).ToList();

        double? recovery = null;
        int? duringOutage = null;
        if (recoveryAt is { } back)
        {
            var first200 = calls.Where(c => c.Status == 200 && c.At >= back).Select(c => (DateTimeOffset?)c.At).Min();
            recovery = first200 is { } at ? (at - back).TotalSeconds : null;
            duringOutage = calls.Count(c => c.At >= outageAt && c.At < back);
        }

        var result = new ScenarioResult
        {
            Id = spec.Id,
            Title = spec.Title,
            Limit = settings.Limit,
            WorkerRatePerReplica = spec.WorkerRate,
            Replicas = spec.Replicas,
            SimulatorRateLimit = spec.SimulatorRate,
            Requests = spec.Requests,
            Completed = completed,
            Outcomes = outcomes.Count,
            Generated = generated,
            Failed = failed,
            Faulted = faulted,
            DuplicateOutcomes = tracker.Duplicates,
            FailureSamples = [.. outcomes.Where(o => o.Kind != OutcomeKind.Generated).Select(o => $"{o.Kind}: {o.Detail}").Distinct().Take(5)],
            PublishSeconds = publishSeconds,
            ElapsedSeconds = elapsed,
            IdealSeconds = ideal,
            ElapsedRatio = elapsed / ideal,
            Calls = calls.Count,
            FirstCallSeconds = firstCall,
            LastCallSeconds = lastCall,
            CallRateFirstToLast = callRate,
            CallsByStatus = byStatus,
            Calls429 = calls429,
            Share429 = calls.Count == 0 ? 0 : (double)calls429 / calls.Count,
            BudgetWaitCount = waits.Length,
            BudgetWaitP50 = Stats.Percentile(waits, 50),
            BudgetWaitP95 = Stats.Percentile(waits, 95),
            BudgetWaitP99 = Stats.Percentile(waits, 99),
            BudgetWaitMax = waits.Length == 0 ? double.NaN : waits[^1],
            Max5sWindowCalls = max5s,
            Max5sWindowRatio = max5s / (5 * settings.Limit),
            MinEffectiveRate = rates.Count == 0 ? null : rates.Min(),
            EffectiveRate = samples,
            OutageStartSeconds = outageStart,
            OutageSeconds = spec.Outage?.TotalSeconds,
            RecoveryToFirst200Seconds = recovery,
            CallsDuringOutage = duringOutage,
            Targets = [],
        };
        return result with { Targets = Targets(spec, result) };
    }

    /// <summary>The targets for the scenario, checked against the measured figures.</summary>
    private static List<TargetCheck> Targets(ScenarioSpec spec, ScenarioResult r)
    {
        var checks = new List<TargetCheck>
        {
            new("all outcomes received", $"{r.Outcomes}/{r.Requests}", r.Completed),
        };
        var ratio = $"{r.ElapsedSeconds:0.0} s = {r.ElapsedRatio:0.000} x N/L";
        var failed = r.Failed + r.Faulted;
        switch (spec.Id)
        {
            case "a":
                checks.Add(new("elapsed <= 1.05 x N/L", ratio, r.Completed && r.ElapsedRatio <= 1.05));
                checks.Add(new("zero 429s", F(r.Calls429), r.Calls429 == 0));
                break;
            case "b":
                checks.Add(new("elapsed <= 1.25 x N/L", ratio, r.Completed && r.ElapsedRatio <= 1.25));
                checks.Add(new("429s <= 5 % of calls", $"{r.Calls429}/{r.Calls} = {r.Share429:P1}", r.Share429 <= 0.05));
                checks.Add(new("no failed message", F(failed), failed == 0));
                break;
            case "c":
                checks.Add(new("calls in any 5-s window <= 1.05 x 5L", $"{r.Max5sWindowCalls} = {r.Max5sWindowRatio:0.000} x 5L",
                    r.Max5sWindowRatio <= 1.05));
                break;
            case "d":
                checks.Add(new("zero failed", F(failed), failed == 0));
                checks.Add(new("first 200 <= 10 s after recovery",
                    r.RecoveryToFirst200Seconds is { } s ? $"{s:0.00} s" : "no 200 after recovery",
                    r.RecoveryToFirst200Seconds is <= 10));
                break;
        }
        return checks;
    }

    private static async Task SampleRatesAsync(WorkerMetrics metrics, long started, List<RateSample> samples, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                samples.Add(new RateSample(Math.Round(Seconds(started, Stopwatch.GetTimestamp()), 1), metrics.SampleRates()));
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static double Seconds(long from, long to) => (double)(to - from) / Stopwatch.Frequency;

    private static string F(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}
