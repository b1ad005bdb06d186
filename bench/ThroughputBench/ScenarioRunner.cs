using System.Diagnostics;
using PortalLinkContracts;
using PortalLinkWorker.TestKit;

namespace ThroughputBench;

/// <summary>Runs the scenarios. End-to-end runs (worker, bare loop): fresh database and queues, start the process(es),
/// wait until they consume, a warm-up batch, then the measured batch from its first publish to its last outcome event;
/// CPU and memory are read from /proc for each process.</summary>
internal sealed class ScenarioRunner(BenchSettings settings, BenchEnvironment env)
{
    /// <summary>Requests are published in chunks of this many concurrent publishes.</summary>
    private const int PublishChunk = 500;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(30);

    /// <summary>The worker (one or more processes on one database), end to end.</summary>
    public async Task<RunResult> RunWorkerAsync(string scenario, WorkerConfig config, int processes, int requests, int repetition,
        bool memory = false)
    {
        Log($"{scenario} {config.Label} x{processes} #{repetition}: {requests} requests");
        await env.ResetAsync();
        var database = await env.CreateDatabaseAsync(withTable: false);
        var workers = new List<ChildProcess>();
        try
        {
            // One after the other: the first one migrates the fresh database before the second starts.
            for (var i = 0; i < processes; i++)
            {
                workers.Add(env.StartWorker($"worker{i + 1}", database, config, processes));
                await env.WaitForConsumersAsync(BenchEnvironment.WorkerQueue, i + 1, [.. workers], StartTimeout);
            }
            var result = await MeasureAsync(scenario, config.Label, workers, database, requests, repetition, memory);
            return result with
            {
                Concurrency = config.ConcurrentMessageLimit,
                PrefetchCount = config.PrefetchCount,
                UpflowConcurrency = config.MaxConcurrentRequests,
                Processes = processes,
                PoolSize = env.WorkerPoolSize(processes),
            };
        }
        finally
        {
            await StopAsync(workers);
            await env.DropDatabaseAsync(database);
        }
    }

    /// <summary>The bare loop at concurrency C (prefetch 2C, as the worker at C), end to end; at most
    /// <paramref name="upflowConcurrency"/> simulator calls at once (default C), as the worker's defaults allow 5.</summary>
    public async Task<RunResult> RunBareLoopAsync(int concurrency, int requests, int repetition, int? upflowConcurrency = null,
        string? label = null)
    {
        var calls = upflowConcurrency ?? concurrency;
        label ??= $"c={concurrency}";
        Log($"bare loop {label} #{repetition}: {requests} requests");
        await env.ResetAsync();
        var database = await env.CreateDatabaseAsync(withTable: true);
        var loops = new List<ChildProcess>();
        try
        {
            loops.Add(ChildProcess.StartSelf("bare-loop", SelfDll,
            [
                "--role", "bare-loop", "--concurrency", $"{concurrency}", "--prefetch", $"{2 * concurrency}", "--upflow-concurrency", $"{calls}",
                "--postgres", database, "--rabbitmq", settings.RabbitMq, "--simulator", env.SimulatorUrl,
            ], env.LogDirectory));
            await env.WaitForConsumersAsync(BareLoop.Queue, 1, [.. loops], StartTimeout);
            var result = await MeasureAsync("bare", label, loops, database, requests, repetition, memory: false);
            return result with { Concurrency = concurrency, PrefetchCount = 2 * concurrency, UpflowConcurrency = calls };
        }
        finally
        {
            await StopAsync(loops);
            await env.DropDatabaseAsync(database);
        }
    }

    /// <summary>A self-timed child mode (naive loop, part ceilings): it measures its own window and CPU.</summary>
    public async Task<RunResult> RunSelfTimedAsync(string scenario, string label, string role, int n, int? concurrency, int repetition,
        bool needsDatabase)
    {
        Log($"{scenario} {label} #{repetition}: {n} operations");
        await env.ResetAsync();
        var database = needsDatabase ? await env.CreateDatabaseAsync(withTable: true) : null;
        try
        {
            List<string> args = ["--role", role, "--n", $"{n}", "--rabbitmq", settings.RabbitMq, "--simulator", env.SimulatorUrl];
            if (concurrency is { } c)
                args.AddRange(["--concurrency", $"{c}"]);
            if (database is not null)
                args.AddRange(["--postgres", database]);
            await using var child = ChildProcess.StartSelf(role, SelfDll, args, env.LogDirectory);
            var exit = await child.TryWaitForExitAsync(TimeSpan.FromSeconds(120 + n / 50));
            if (exit is null)
            {
                await child.KillAsync();
                exit = -1;
            }
            var reported = ChildResult.Find(child.Output);
            var rows = database is null ? null : await BenchEnvironment.RowsByStatusAsync(database);
            if (reported is null || exit != 0)
                return new RunResult
                {
                    Scenario = scenario, Config = label, Repetition = repetition, Requests = n, Concurrency = concurrency,
                    Ok = false, Problem = $"exit {exit}: {child.OutputTail(5)}",
                };
            var problem = reported.Errors > 0 ? $"{reported.Errors} errors, first: {reported.FirstError}" : null;
            return new RunResult
            {
                Scenario = scenario,
                Config = label,
                Concurrency = concurrency,
                Repetition = repetition,
                Requests = n,
                Seconds = reported.Seconds,
                PerSecond = reported.Operations / reported.Seconds,
                CpuSeconds = reported.CpuSeconds,
                CoreMsPerOperation = reported.CpuSeconds * 1000 / Math.Max(1, reported.Operations),
                PeakRssMb = Stats.Mb(reported.PeakRssBytes),
                RowsByStatus = rows,
                Ok = problem is null,
                Problem = problem,
            };
        }
        finally
        {
            if (database is not null)
                await env.DropDatabaseAsync(database);
        }
    }

    private async Task<RunResult> MeasureAsync(string scenario, string label, List<ChildProcess> measured, string database,
        int requests, int repetition, bool memory)
    {
        var runTag = Guid.NewGuid().ToString("N")[..8];
        // At least WarmUpRequests and at least WarmUpSeconds: tiered compilation promotes hot methods in the background
        // for a while after they are first called, longer when the CPU is busy, so the time counts more than the number.
        var warmUp = 0;
        var warmStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var round = 0; round == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(warmStarted).TotalSeconds < settings.WarmUpSeconds; round++)
        {
            var warm = await PublishAndWaitAsync(Batch($"{runTag}w{round}", settings.WarmUpRequests), sampler: null);
            if (!warm.Completed)
                return Failed(scenario, label, repetition, requests, $"warm-up: {warm.Tracker.Count}/{settings.WarmUpRequests} outcomes. {Tail(measured)}");
            warmUp += settings.WarmUpRequests;
        }
        await env.Simulator.ResetAsync();
        // Lets the JIT's background recompilations queued by the warm-up finish outside the window.
        await Task.Delay(TimeSpan.FromSeconds(1));

        var pids = measured.Select(p => p.Pid).ToArray();
        var cpu0 = pids.Select(p => ProcStat.CpuSeconds(p) ?? 0).ToArray();
        var simulator0 = ProcStat.CpuSeconds(env.SimulatorProcess.Pid) ?? 0;
        var bench0 = ProcStat.CpuSeconds(Environment.ProcessId) ?? 0;
        var machine0 = ProcStat.Machine();
        var sampler = new MemorySampler(pids, memory ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(250));
        var run = await PublishAndWaitAsync(Batch(runTag, requests), sampler);
        var cpu = pids.Select((p, i) => (ProcStat.CpuSeconds(p) ?? cpu0[i]) - cpu0[i]).Sum();
        var simulatorCpu = (ProcStat.CpuSeconds(env.SimulatorProcess.Pid) ?? 0) - simulator0;
        var benchCpu = (ProcStat.CpuSeconds(Environment.ProcessId) ?? 0) - bench0;
        var machine = ProcStat.Machine();
        var peak = pids.Select(p => ProcessMemory.Read(p)?.Peak ?? 0).Max();

        // Stragglers (a duplicate, a late failure) land before the counts are read.
        await Task.Delay(300);
        var calls = await env.SimulatorCallsByStatusAsync();
        var rows = await BenchEnvironment.RowsByStatusAsync(database);
        var t = run.Tracker;
        var expectedRows = warmUp + requests;
        var problems = new List<string>();
        if (!run.Completed)
            problems.Add($"only {t.Count}/{requests} outcomes in time");
        if (t.Failed + t.Faulted > 0)
            problems.Add($"{t.Failed} failed, {t.Faulted} faulted (first: {t.FirstProblem})");
        if (rows.GetValueOrDefault("generated") != expectedRows || rows.Values.Sum() != expectedRows)
            problems.Add($"rows: {string.Join(", ", rows.Select(r => $"{r.Key} {r.Value}"))}; expected generated {expectedRows}");
        if (problems.Count > 0)
            problems.Add(Tail(measured));

        return new RunResult
        {
            Scenario = scenario,
            Config = label,
            Processes = measured.Count,
            Repetition = repetition,
            Requests = requests,
            Seconds = run.Seconds,
            PerSecond = t.Count / run.Seconds,
            CpuSeconds = cpu,
            CoreMsPerOperation = cpu * 1000 / Math.Max(1, t.Count),
            PeakRssMb = Stats.Mb(peak),
            SimulatorCpuSeconds = simulatorCpu,
            BenchCpuSeconds = benchCpu,
            MachineBusyCores = (machine.Busy - machine0.Busy) / run.Seconds,
            Generated = t.Generated,
            Failed = t.Failed,
            Faulted = t.Faulted,
            DuplicateEvents = t.Duplicates,
            RowsByStatus = rows,
            SimulatorCallsByStatus = calls,
            Ok = problems.Count == 0,
            Problem = problems.Count == 0 ? null : string.Join("; ", problems),
            Memory = memory ? sampler.Profile(requests) : null,
        };
    }

    private static List<GeneratePortalLink> Batch(string tag, int n) =>
        Enumerable.Range(0, n).Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:perf-{tag}-{i}")).ToList();

    /// <summary>Publishes the batch at full speed (chunks of concurrent publishes, never more than MaxBacklog requests
    /// without an outcome) and waits for every outcome. The window runs from the first publish to the last outcome.</summary>
    private async Task<(OutcomeTracker Tracker, bool Completed, double Seconds)> PublishAndWaitAsync(
        List<GeneratePortalLink> batch, MemorySampler? sampler)
    {
        var tracker = new OutcomeTracker(batch.Select(r => r.RequestId).ToHashSet());
        env.Track(tracker);
        var timeout = TimeSpan.FromSeconds(60 + batch.Count / 20.0);
        var started = Stopwatch.GetTimestamp();
        using var stopSampling = new CancellationTokenSource();
        var sampling = sampler?.RunAsync(tracker, started, stopSampling.Token) ?? Task.CompletedTask;
        var published = 0;
        foreach (var chunk in batch.Chunk(PublishChunk))
        {
            while (published - tracker.Count > settings.MaxBacklog)
                await Task.Delay(50);
            await Task.WhenAll(chunk.Select(r => env.Bus.Publish(r)));
            published += chunk.Length;
        }
        var completed = await tracker.WaitForAllAsync(timeout - Stopwatch.GetElapsedTime(started));
        var end = completed ? tracker.CompletedAt : Stopwatch.GetTimestamp();
        await stopSampling.CancelAsync();
        await sampling;
        env.Track(null);
        return (tracker, completed, Stopwatch.GetElapsedTime(started, end).TotalSeconds);
    }

    private static RunResult Failed(string scenario, string label, int repetition, int requests, string problem) =>
        new() { Scenario = scenario, Config = label, Repetition = repetition, Requests = requests, Ok = false, Problem = problem };

    private static string Tail(IEnumerable<ChildProcess> processes) =>
        string.Join(" | ", processes.Select(p => $"{p.Name} log {p.LogPath}: " +
                                                  string.Join(" / ", p.OutputTail(3).Split('\n', StringSplitOptions.RemoveEmptyEntries))));

    private static async Task StopAsync(List<ChildProcess> processes)
    {
        await Task.WhenAll(processes.Select(async p =>
        {
            try
            {
                await p.StopAsync(StopPatience);
            }
            finally
            {
                await p.DisposeAsync();
            }
        }));
    }

    /// <summary>This executable, started again in one of its child modes.</summary>
    public const string SelfDll = "ThroughputBench.dll";

    public static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}
