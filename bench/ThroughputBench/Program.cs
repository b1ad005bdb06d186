using System.Diagnostics;
using PortalLinkWorker.TestKit;
using ThroughputBench;

// dotnet run -c Release --project bench/ThroughputBench -- [--quick] [--memory|--no-memory] [--only worker,bare,two,naive,parts,memory]
//     [--repeat R] [--requests N] [--warm-up N] [--warm-up-seconds S] [--concurrency 1,8,32,128] [--memory-requests N] [--worker-log-level Information]
//     [--worker-env KEY=VALUE]... [--worker-dll path/to/PortalLinkWorker.dll] [--name throughput]
if (args.Length >= 2 && args[0] == "--role")
{
    return args[1] switch
    {
        "bare-loop" => await BareLoop.RunAsync(args[2..]),
        "naive" => await Baselines.NaiveAsync(args[2..]),
        "part-postgres" => await Baselines.PostgresAsync(args[2..]),
        "part-simulator" => await Baselines.SimulatorAsync(args[2..]),
        "part-rabbit" => await Baselines.RabbitAsync(args[2..]),
        _ => 64,
    };
}

var settings = BenchSettings.FromArgs(args);
// Two runs on one vhost would delete each other's queues: one at a time per machine and vhost.
var lockPath = Path.Combine(Path.GetTempPath(), $"throughput-bench-{Uri.EscapeDataString(new Uri(settings.RabbitMq).AbsolutePath.Trim('/'))}.lock");
FileStream runLock;
try
{
    runLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
}
catch (IOException)
{
    Console.Error.WriteLine($"Another ThroughputBench run holds {lockPath}; wait for it to finish.");
    return 2;
}
await using var _ = runLock;
var name = BenchSettings.Value(args, "--name") ?? "throughput";
var repository = RepositoryRoot.Find();
var startedAt = DateTimeOffset.UtcNow;
var clock = Stopwatch.StartNew();
var results = new List<RunResult>();
var errors = new List<string>();
ScenarioRunner.Log($"{(settings.Quick ? "QUICK" : "full")} run: {settings.Repetitions} repetition(s), N = {settings.Requests} " +
                   $"(c=1: {settings.RequestsAtConcurrency1}), concurrency {string.Join(", ", settings.Concurrencies)}, " +
                   $"memory run {(settings.Memory ? settings.MemoryRequests.ToString() : "off")}, broker {new Uri(settings.RabbitMq).AbsolutePath}");

await using (var env = await BenchEnvironment.StartAsync(settings, repository))
{
    var runner = new ScenarioRunner(settings, env);

    async Task Run(Func<Task<RunResult>> run, string what)
    {
        try
        {
            var wall = Stopwatch.StartNew();
            var result = await run();
            result = result with { WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1) };
            results.Add(result);
            ScenarioRunner.Log($"  {(result.Ok ? "ok" : "FAILED")}: {result.PerSecond:0} /s, {result.CoreMsPerOperation:0.000} core-ms each, " +
                               $"peak RSS {result.PeakRssMb:0} MB" + (result.MachineBusyCores is { } busy ? $", machine {busy:0.00} cores busy" : "") +
                               $", {result.WallSeconds:0} s in all" +
                               (result.Problem is null ? "" : $" -- {result.Problem}"));
        }
        catch (Exception e)
        {
            ScenarioRunner.Log($"  {what} could not run: {e.GetType().Name}: {e.Message}");
            errors.Add($"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    // Worker and bare loop interleaved at each concurrency, repetition after repetition, so that a change in the
    // machine's background load shifts both alike.
    for (var rep = 1; rep <= settings.Repetitions; rep++)
    {
        foreach (var c in settings.Concurrencies)
        {
            if (settings.Runs("worker"))
                await Run(() => runner.RunWorkerAsync("worker", WorkerConfig.AtConcurrency(c), 1, settings.RequestsFor(c), rep), $"worker c={c}");
            if (settings.Runs("bare"))
                await Run(() => runner.RunBareLoopAsync(c, settings.RequestsFor(c), rep), $"bare c={c}");
        }
        if (settings.Runs("worker"))
            await Run(() => runner.RunWorkerAsync("worker", WorkerConfig.Defaults, 1, settings.Requests, rep), "worker defaults");
        // The defaults' yardstick: the bare loop with the same 16 messages and 5 Upflow calls at once.
        if (settings.Runs("bare"))
            await Run(() => runner.RunBareLoopAsync(BenchSettings.DefaultConcurrentMessageLimit, settings.Requests, rep,
                BenchSettings.DefaultMaxConcurrentRequests, WorkerConfig.Defaults.Label), "bare defaults");
    }

    var best = Report.BestConfig(results, settings);
    ScenarioRunner.Log($"best single-worker configuration: {best.Label}");
    for (var rep = 1; rep <= settings.Repetitions && settings.Runs("two"); rep++)
        await Run(() => runner.RunWorkerAsync("worker", best, 2, settings.Requests, rep), "2 workers");

    for (var rep = 1; rep <= settings.Repetitions; rep++)
    {
        if (settings.Runs("naive"))
            await Run(() => runner.RunSelfTimedAsync("naive", "sequential", "naive", settings.NaiveRequests, 1, rep, true), "naive");
        if (!settings.Runs("parts"))
            continue;
        var c = settings.PartConcurrency;
        await Run(() => runner.RunSelfTimedAsync("part", "rabbitmq publish->consume", "part-rabbit", settings.PartRabbitMessages, c, rep, false), "part rabbit");
        await Run(() => runner.RunSelfTimedAsync("part", "postgresql insert", "part-postgres", settings.PartPostgresInserts, c, rep, true), "part postgres");
        await Run(() => runner.RunSelfTimedAsync("part", "simulator POST", "part-simulator", settings.PartSimulatorCalls, c, rep, false), "part simulator");
    }

    if (settings.Memory)
        await Run(() => runner.RunWorkerAsync("memory", best, 1, settings.MemoryRequests, 1, memory: true), "memory");
}

var ok = Report.Write(Path.Combine(repository, "bench", "results"), name, settings, repository, startedAt, clock.Elapsed.TotalSeconds,
    results, errors);
return ok ? 0 : 1;

