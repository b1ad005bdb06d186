using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Microsoft.Extensions.Hosting;
using PortalLinkContracts;
using PortalLinkWorker.TestKit;
using PortalLinkWorker.Upflow;
using UpflowSimulator;

namespace RateLimitBench;

/// <summary>Runs one scenario: fresh database, the simulator set to the scenario's limiter, worker replica(s), the backlog
/// sent to the campaign lane at once and a live request published every 2 s until the backlog is done; then reads the
/// outcomes and the simulator's call log and stats.</summary>
internal sealed class ScenarioRunner(BenchSettings settings, BenchEnvironment env)
{
    private const int PublishChunk = 500;

    /// <summary>The per-second shapes' settle target: within 5 % of L.</summary>
    private const double SettleTolerance = 0.05;

    /// <summary>How long the live requests published last may take once the backlog is done.</summary>
    private static readonly TimeSpan LiveGrace = TimeSpan.FromSeconds(60);

    /// <summary>The worker's fleet-wide in-flight bound the bench checks: the option's default, as the bench does not set it.</summary>
    public static int WorkerMaxConcurrentRequests { get; } = new UpflowOptions().MaxConcurrentRequests;

    public async Task<ScenarioResult> RunAsync(ScenarioSpec spec)
    {
        var L = settings.Limit;
        var workerRate = WorkerRate(spec);
        Log($"scenario {spec.Id}: {spec.Replicas} replica(s) at {workerRate:0.##}/s, simulator {spec.Shape} at {L:0.##}/s, {spec.Requests} bulk items");
        await env.Simulator.ConfigureAsync(new
        {
            rateLimitPerSecond = L,
            rateLimitShape = spec.SimulatorShape.ToString(),
            maxConcurrentRequests = spec.Shape == BenchShape.InFlightCap ? ScenarioSpec.UpflowInFlightCap : 0,
            retryAfterFormat = nameof(RetryAfterFormat.Seconds),
            latencyMs = settings.LatencyMs,
            errorRate = 0.0,
            slowRate = 0.0,
        });
        var database = await env.CreateDatabaseAsync(spec.Id);

        var hosts = new List<IHost>();
        try
        {
            // One after the other: the first host migrates the fresh database before the second starts.
            for (var i = 0; i < spec.Replicas; i++)
            {
                var host = env.BuildWorker(database, workerRate);
                hosts.Add(host);
                await host.StartAsync();
            }

            var ideal = spec.Requests / spec.LongRunRate(L);
            var timeout = TimeSpan.FromSeconds((ideal * 3) + 120);
            var runTag = Guid.NewGuid().ToString("N")[..8];
            var backlog = Enumerable.Range(0, spec.Requests)
                .Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:bench-{runTag}-{i}"))
                .ToList();
            var live = Enumerable.Range(0, (int)(timeout / settings.LiveInterval) + 1)
                .Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:bench-{runTag}-live-{i}"))
                .ToList();
            var backlogIds = backlog.Select(r => r.RequestId).ToHashSet();
            var tracker = new OutcomeTracker(backlog.Concat(live).Select(r => r.RequestId).ToHashSet());
            env.Track(tracker);

            // Under the per-minute window the run starts on a whole minute, so its first window is a whole one.
            if (spec.PerMinute)
                await Task.Delay(TimeSpan.FromTicks(TimeSpan.TicksPerMinute - (DateTimeOffset.UtcNow.UtcTicks % TimeSpan.TicksPerMinute)));
            await env.Simulator.ResetAsync();
            var startedAt = DateTimeOffset.UtcNow;
            var started = Stopwatch.GetTimestamp();
            var liveSent = new List<(Guid Id, long At)>();
            using var stopLive = new CancellationTokenSource();
            var liveLoop = PublishLiveAsync(live, liveSent, started, stopLive.Token);

            var bulk = await env.BulkQueueAsync();
            foreach (var chunk in backlog.Chunk(PublishChunk))
                await Task.WhenAll(chunk.Select(r => bulk.Send(r, context => context.MessageId = r.RequestId)));
            Log($"  sent {spec.Requests} bulk items in {Seconds(started, Stopwatch.GetTimestamp()):0.0} s");

            var deadline = started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (tracker.AnsweredOf(backlogIds) < spec.Requests && Stopwatch.GetTimestamp() < deadline)
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            await stopLive.CancelAsync();
            await liveLoop;
            var liveDeadline = Stopwatch.GetTimestamp() + (long)(LiveGrace.TotalSeconds * Stopwatch.Frequency);
            while (!liveSent.All(l => tracker.TryGetAnswer(l.Id, out _)) && Stopwatch.GetTimestamp() < liveDeadline)
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            var completed = tracker.AnsweredOf(backlogIds) == spec.Requests && liveSent.All(l => tracker.TryGetAnswer(l.Id, out _));
            var finished = Stopwatch.GetTimestamp();

            // Late duplicates and the last calls are in the log by now; let stragglers land before reading it.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var calls = (await env.Simulator.CallsAsync()).Where(c => c.At >= startedAt.AddSeconds(-1)).ToList();
            var peak = await env.PeakInFlightAsync();
            return Measure(spec, tracker, liveSent, completed, started, finished, startedAt, calls, peak);
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

    /// <summary>Publishes a live request at once and then every <see cref="BenchSettings.LiveInterval"/>, on the schedule
    /// (a slow publish does not shift the next one), until stopped.</summary>
    private async Task PublishLiveAsync(List<GeneratePortalLink> live, List<(Guid Id, long At)> sent, long started, CancellationToken stop)
    {
        try
        {
            for (var i = 0; i < live.Count && !stop.IsCancellationRequested; i++)
            {
                var at = Stopwatch.GetTimestamp();
                await env.Bus.Publish(live[i], CancellationToken.None);
                lock (sent)
                    sent.Add((live[i].RequestId, at));
                var next = started + (long)((i + 1) * settings.LiveInterval.TotalSeconds * Stopwatch.Frequency);
                var wait = Seconds(Stopwatch.GetTimestamp(), next);
                if (wait > 0)
                    await Task.Delay(TimeSpan.FromSeconds(wait), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private ScenarioResult Measure(ScenarioSpec spec, OutcomeTracker tracker, List<(Guid Id, long At)> liveSent, bool completed,
        long started, long finished, DateTimeOffset startedAt, List<CallRecord> calls, int peak)
    {
        var L = settings.Limit;
        var rate = spec.LongRunRate(L);
        var outcomes = tracker.Answers;
        var last = outcomes.Count == 0 ? finished : outcomes.Max(o => o.At);
        var elapsed = Seconds(started, completed ? last : finished);
        var total = spec.Requests + liveSent.Count;
        var ideal = total / rate;
        var byStatus = calls.GroupBy(c => c.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        var calls429 = byStatus.GetValueOrDefault(429);
        var sortedCalls = calls.Select(c => c.At).Order().ToList();
        var max5s = Stats.MaxInWindow(sortedCalls, TimeSpan.FromSeconds(5));

        // Live latency: publish to first outcome; a live request without one counts as the whole wait.
        var latencies = liveSent
            .Select(l => (l.At, Seconds: Seconds(l.At, tracker.TryGetAnswer(l.Id, out var o) ? o.At : finished)))
            .ToList();
        var sortedLatencies = latencies.Select(l => l.Seconds).Order().ToList();
        var afterFirstMinute = latencies.Where(l => Seconds(started, l.At) >= 60).Select(l => l.Seconds).Order().ToList();

        // Settling only means something where the worker is asked for more than the shape allows per second.
        var perSecondShape = !spec.PerMinute;
        int[]? buckets = null;
        double? settle = null;
        if (perSecondShape && sortedCalls.Count > 0)
        {
            buckets = Stats.PerSecond(sortedCalls, out var firstSecond);
            if (spec.RateMultiple > 1)
                settle = Stats.SettledFrom(buckets, rate, SettleTolerance) is { } from
                    ? Math.Max(0, (firstSecond.AddSeconds(from) - startedAt).TotalSeconds)
                    : null;
        }

        var failedOutcomes = outcomes.Where(o => o.Kind != OutcomeKind.Generated).ToList();
        var result = new ScenarioResult
        {
            Id = spec.Id,
            Shape = spec.Shape.ToString(),
            Limit = L,
            ShapeLongRunRate = rate,
            WorkerRatePerReplica = WorkerRate(spec),
            Replicas = spec.Replicas,
            Requests = spec.Requests,
            LiveRequests = liveSent.Count,
            Completed = completed,
            Outcomes = outcomes.Count,
            Failed = failedOutcomes.Count,
            DuplicateOutcomes = tracker.Duplicates,
            FailureSamples = [.. failedOutcomes.Select(o => $"{o.Kind}: {o.Detail}").Distinct().Take(5)],
            StartSecondOfMinute = spec.PerMinute ? startedAt.Second + (startedAt.Millisecond / 1000.0) : null,
            ElapsedSeconds = elapsed,
            IdealSeconds = ideal,
            Efficiency = ideal / elapsed,
            Calls = calls.Count,
            CallsByStatus = byStatus,
            Calls429 = calls429,
            Share429 = calls.Count == 0 ? 0 : (double)calls429 / calls.Count,
            PeakInFlight = peak,
            WorkerMaxConcurrentRequests = WorkerMaxConcurrentRequests,
            Max5sWindowCalls = max5s,
            Max5sWindowRatio = max5s / (5 * L),
            LiveP50 = Stats.Percentile(sortedLatencies, 50),
            LiveP95 = Stats.Percentile(sortedLatencies, 95),
            LiveMax = sortedLatencies.Count == 0 ? double.NaN : sortedLatencies[^1],
            LiveP95AfterFirstMinute = spec.PerMinute ? Stats.Percentile(afterFirstMinute, 95) : null,
            SettleSeconds = settle,
            CallsPerSecond = buckets,
            Refused429At = [.. calls.Where(c => c.Status == 429).Select(c => Math.Round((c.At - startedAt).TotalSeconds, 2)).Order()],
            Targets = [],
        };
        return result with { Targets = Targets(spec, result) };
    }

    /// <summary>The targets for the scenario, checked against the measured figures.</summary>
    private static List<TargetCheck> Targets(ScenarioSpec spec, ScenarioResult r)
    {
        var checks = new List<TargetCheck>
        {
            new("all outcomes received", $"{r.Outcomes}/{r.Requests + r.LiveRequests}", r.Completed),
            new("no failed message", F(r.Failed), r.Failed == 0),
        };
        var efficiency = $"{r.Efficiency:0.000}";
        var share429 = $"{r.Calls429}/{r.Calls} = {r.Share429:P1}";
        if (spec.Campaign)
        {
            checks.Add(new("efficiency >= 0.95 (live included)", efficiency, r.Completed && r.Efficiency >= 0.95));
            checks.Add(new("live p95 <= 1 s", $"{r.LiveP95:0.00} s", r.LiveP95 <= 1));
        }
        else if (spec.RateMultiple == 1)
        {
            checks.Add(new("efficiency >= 0.97", efficiency, r.Completed && r.Efficiency >= 0.97));
            checks.Add(new("429s <= 1 % of calls", share429, r.Share429 <= 0.01));
        }
        else
        {
            checks.Add(new("efficiency >= 0.92", efficiency, r.Completed && r.Efficiency >= 0.92));
            checks.Add(new("429s <= 2 % of calls", share429, r.Share429 <= 0.02));
            if (spec.PerMinute)
                checks.Add(new("live p95 after the first minute <= 1 s", $"{r.LiveP95AfterFirstMinute:0.00} s", r.LiveP95AfterFirstMinute <= 1));
            else
                checks.Add(new("calls/s within 5 % of L within 10 s",
                    r.SettleSeconds is { } s ? $"from {s:0} s" : "never", r.SettleSeconds <= 10));
        }
        checks.Add(new($"peak in-flight <= {r.WorkerMaxConcurrentRequests} (Upflow:MaxConcurrentRequests, fleet-wide)",
            F(r.PeakInFlight), r.PeakInFlight <= r.WorkerMaxConcurrentRequests));
        checks.Add(new("calls in any 5-s window <= 1.05 x 5L", $"{r.Max5sWindowCalls} = {r.Max5sWindowRatio:0.000} x 5L",
            r.Max5sWindowRatio <= 1.05));
        return checks;
    }

    /// <summary><c>Upflow:MaxRequestsPerSecond</c> of each replica in <paramref name="spec"/>.</summary>
    private double WorkerRate(ScenarioSpec spec) => spec.RateMultiple * settings.Limit * settings.RateFactor;

    private static double Seconds(long from, long to) => (double)(to - from) / Stopwatch.Frequency;

    private static string F(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}
