using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CampaignBench;
using PortalLinkContracts;
using PortalLinkWorker.TestKit;
using PortalLinkWorker.Messaging;

// dotnet run -c Release --project bench/CampaignBench -- [--quick] [--reuse] [--name campaign]
// --reuse: only the campaign where half the customers hold a link valid long enough (ReuseScenario), results in
// bench/results/<name>.md with name campaign-reuse by default.
// Needs PORTALLINK_TEST_POSTGRES (a server where it may CREATE DATABASE) and CAMPAIGN_BENCH_RABBITMQ (default: the
// portallink-bench virtual host). The worker and the campaign command run as child processes of the built worker DLL.
var quick = args.Contains("--quick");
var reuse = args.Contains("--reuse");
var name = args.SkipWhile(a => a != "--name").Skip(1).FirstOrDefault() ?? (reuse ? "campaign-reuse" : "campaign");
var limit = quick ? 20.0 : 50.0;
var customers = quick ? 1000 : 10_000;
var bigCsvRows = quick ? 20_000 : 200_000;
var latencyMs = 20;
var liveEvery = TimeSpan.FromSeconds(2);
var postgres = ServerVariables.RequirePostgres();
var rabbitMq = Environment.GetEnvironmentVariable("CAMPAIGN_BENCH_RABBITMQ") is { Length: > 0 } r ? r : "amqp://guest:guest@127.0.0.1:5672/portallink-bench";
var root = RepositoryRoot.Find();
var workerDll = RepositoryRoot.WorkerDll;
void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");

const string apiKey = "bench-key";
const string apiSecret = "bench-secret";
var simulator = await SimulatorHost.StartAsync(apiKey, apiSecret, "--Logging:LogLevel:Default=Warning");
await simulator.Client.ConfigureAsync(new { rateLimitPerSecond = limit, latencyMs });

var databases = new DatabaseFactory(postgres);
Dictionary<string, string> Settings(string database) =>
    WorkerSettings.For(database, rabbitMq, simulator.Url, apiKey, apiSecret, limit).With(new Dictionary<string, string>
    {
        ["Serilog:MinimumLevel:Default"] = "Warning",
        ["Serilog:MinimumLevel:Override:MassTransit"] = "Warning",
        ["Serilog:MinimumLevel:Override:Microsoft"] = "Warning",
    });

// Observer: live outcomes (latency: from the publish to the first outcome event) and the campaign's completion.
var liveSent = new ConcurrentDictionary<Guid, long>();
var outcomes = new OutcomeTracker();
await using var observer = await ObserverBus.StartAsync(rabbitMq, outcomes, prefetchCount: 256);
Outcome? Answer(Guid requestId) => outcomes.OutcomesOf(requestId).FirstOrDefault(o => o.Kind != OutcomeKind.Faulted);

var report = new Dictionary<string, object?>
{
    ["startedAt"] = DateTimeOffset.UtcNow,
    ["quick"] = quick,
    ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
    ["limitPerSecond"] = limit,
    ["simulatorLatencyMs"] = latencyMs,
    ["customers"] = customers,
    ["liveRequestEverySeconds"] = liveEvery.TotalSeconds,
};
var targets = new List<(string Target, string Measured, bool Pass)>();
var tmp = Directory.CreateTempSubdirectory("campaign-bench-");
try
{
    if (reuse)
    {
        targets.AddRange(await ReuseScenario.RunAsync(workerDll, Settings(await databases.CreateAsync("portallink_cbench")), observer,
            simulator.Client, customers, limit, tmp, Log, report, WarmUpAsync));
        return await WriteResultsAsync();
    }

    // 1. A campaign of N customers at the simulator's limit L, with live requests mixed in.
    var database = await databases.CreateAsync("portallink_cbench");
    var settings = Settings(database);
    await using (var worker = MeasuredProcess.Start(workerDll, [], settings))
    {
        await WarmUpAsync(worker);

        var csv = Path.Combine(tmp.FullName, "campaign.csv");
        await File.WriteAllLinesAsync(csv, ["customer_id", .. Enumerable.Range(0, customers).Select(i => $"external:cbench-{i}-{Guid.NewGuid():N}")]);
        var campaignId = Guid.NewGuid();
        Log($"campaign of {customers} at L = {limit}/s (N/L = {customers / limit:0} s), a live request every {liveEvery.TotalSeconds:0} s");
        var started = Stopwatch.GetTimestamp();
        await using var start = MeasuredProcess.Start(workerDll, ["campaign", "start", "--file", csv, "--name", "bench", "--campaign-id", campaignId.ToString()], settings);

        using var stopLive = new CancellationTokenSource();
        var live = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(liveEvery);
            try
            {
                while (await timer.WaitForNextTickAsync(stopLive.Token))
                {
                    var request = new GeneratePortalLink(Guid.NewGuid(), $"external:live-{Guid.NewGuid():N}");
                    liveSent[request.RequestId] = Stopwatch.GetTimestamp();
                    await observer.Bus.Publish(request);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var startExit = await start.WaitForExitAsync(TimeSpan.FromMinutes(5));
        Log($"  start command exited {startExit} after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s, peak RSS {start.PeakMiB:0} MiB");
        var deadline = TimeSpan.FromSeconds(customers / limit * 3 + 120);
        var lastReport = 0;
        while (observer.CompletionsOf(campaignId).Count == 0 && Stopwatch.GetElapsedTime(started) < deadline)
        {
            await Task.Delay(250);
            var seconds = (int)Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (seconds / 30 > lastReport / 30)
                Log($"  {seconds} s, worker RSS peak {worker.PeakMiB:0} MiB");
            lastReport = seconds;
        }
        await stopLive.CancelAsync();
        await live;
        await Task.Delay(TimeSpan.FromSeconds(2)); // the last live requests' outcomes
        var done = observer.CompletionsOf(campaignId).FirstOrDefault();
        var elapsed = done is null ? double.NaN : Stopwatch.GetElapsedTime(started, done.At).TotalSeconds;
        var ideal = customers / limit;
        var latencies = liveSent.Select(l => Answer(l.Key) is { } answer ? Stopwatch.GetElapsedTime(l.Value, answer.At).TotalSeconds : double.NaN)
            .Where(l => !double.IsNaN(l)).Order().ToArray();
        var unanswered = liveSent.Count - latencies.Length;
        double P(double p) => latencies.Length == 0 ? double.NaN : latencies[Math.Clamp((int)Math.Ceiling(p / 100 * latencies.Length) - 1, 0, latencies.Length - 1)];
        var calls = await simulator.Client.CallsAsync();
        report["campaign"] = new Dictionary<string, object?>
        {
            ["completed"] = done is not null,
            ["total"] = done?.Event.Total,
            ["generated"] = done?.Event.Generated,
            ["failed"] = done?.Event.Failed,
            ["elapsedSeconds"] = elapsed,
            ["idealSeconds"] = ideal,
            ["ratio"] = elapsed / ideal,
            ["startCommandPeakMiB"] = start.PeakMiB,
            ["workerPeakMiB"] = worker.PeakMiB,
            ["calls"] = calls.Count,
            ["calls429"] = calls.Count(c => c.Status == 429),
            ["liveRequests"] = latencies.Length,
            ["liveUnanswered"] = unanswered,
            ["liveLatencyP50"] = P(50),
            ["liveLatencyP95"] = P(95),
            ["liveLatencyMax"] = latencies.Length == 0 ? double.NaN : latencies[^1],
        };
        Log($"  completed in {elapsed:0.0} s = {elapsed / ideal:0.000} x N/L; live p50 {P(50):0.000} s, p95 {P(95):0.000} s, max {(latencies.Length == 0 ? double.NaN : latencies[^1]):0.000} s over {latencies.Length}; worker peak RSS {worker.PeakMiB:0} MiB");
        targets.Add(("campaign completes within 1.05 x N/L", $"{elapsed:0.0} s / {ideal:0} s = {elapsed / ideal:0.000}", elapsed / ideal <= 1.05));
        targets.Add(("live p95 <= 1 s above Upflow's latency", $"p95 {P(95):0.000} s vs {latencyMs / 1000.0:0.000} s", P(95) <= latencyMs / 1000.0 + 1));
        targets.Add(("every live request answered", $"{latencies.Length} answered, {unanswered} not", unanswered == 0));
        targets.Add(("campaign outcome", $"{done?.Event.Generated} generated, {done?.Event.Failed} failed of {done?.Event.Total}", done?.Event.Generated == customers));
    }

    // 2. The start command alone on a big CSV (no worker: only its own peak memory matters here).
    var bigDatabase = await databases.CreateAsync("portallink_cbench");
    var bigSettings = Settings(bigDatabase);
    await using (var migrate = MeasuredProcess.Start(workerDll, ["migrate"], bigSettings))
        await migrate.WaitForExitAsync(TimeSpan.FromMinutes(2));
    var bigCsv = Path.Combine(tmp.FullName, "big.csv");
    await using (var writer = new StreamWriter(bigCsv))
    {
        await writer.WriteLineAsync("customer_id,expires_in,frame_ancestors");
        for (var i = 0; i < bigCsvRows; i++)
            await writer.WriteLineAsync($"external:big-{i}-{Guid.NewGuid():N},{(i % 2 == 0 ? "" : "600")},{(i % 3 == 0 ? "a.example b.example" : "")}");
    }
    Log($"campaign start on a {bigCsvRows}-row CSV ({new FileInfo(bigCsv).Length / 1024 / 1024} MiB)");
    var bigStarted = Stopwatch.GetTimestamp();
    await using (var big = MeasuredProcess.Start(workerDll, ["campaign", "start", "--file", bigCsv, "--name", "big"], bigSettings))
    {
        var exit = await big.WaitForExitAsync(TimeSpan.FromMinutes(15));
        var seconds = Stopwatch.GetElapsedTime(bigStarted).TotalSeconds;
        Log($"  exit {exit} after {seconds:0.0} s, peak RSS {big.PeakMiB:0} MiB");
        report["bigCsv"] = new Dictionary<string, object?>
        {
            ["rows"] = bigCsvRows, ["exitCode"] = exit, ["seconds"] = seconds, ["peakMiB"] = big.PeakMiB,
            ["output"] = big.Output.Split('\n').Where(l => !l.Contains("enqueued ")).Take(10).ToArray(),
        };
        targets.Add(($"{bigCsvRows}-row CSV start: peak memory < 200 MB", $"{big.PeakMiB * 1.048576:0} MB ({big.PeakMiB:0} MiB), exit {exit}, {seconds:0} s", exit == 0 && big.PeakMiB * 1.048576 < 200));
    }
}
finally
{
    await simulator.DisposeAsync();
    // The big start's items are of no further use on the queue.
    try
    {
        await RawQueue.PurgeAsync(rabbitMq, "generate-portal-link-bulk");
    }
    catch (Exception e)
    {
        Log($"purging generate-portal-link-bulk failed: {e.Message}");
    }
    foreach (var problem in await databases.DropAllAsync())
        Log(problem);
    tmp.Delete(recursive: true);
}

return await WriteResultsAsync();

async Task<int> WriteResultsAsync()
{
    foreach (var (target, measured, pass) in targets)
        Log($"  {(pass ? "PASS" : "FAIL")} {target}: {measured}");
    report["targets"] = targets.Select(t => new { t.Target, t.Measured, t.Pass }).ToArray();
    var results = Path.Combine(root, "bench", "results");
    Directory.CreateDirectory(results);
    await File.WriteAllTextAsync(Path.Combine(results, $"{name}.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
    var md = new List<string>
    {
        $"# Campaign benchmark{(reuse ? ", half the customers reusing a stored link" : "")} ({(quick ? "quick" : "full")} run, {report["startedAt"]:u})",
        "",
        $"{report["machine"]}; simulator limit L = {limit}/s, latency {latencyMs} ms; worker configured at L; {customers} customers;",
        reuse ? "no live requests. Produced by `dotnet run -c Release --project bench/CampaignBench -- --reuse`."
              : $"a live request every {liveEvery.TotalSeconds:0} s during the campaign. Produced by `dotnet run -c Release --project bench/CampaignBench`.",
        "",
        "| target | measured | |",
        "|---|---|---|",
    };
    md.AddRange(targets.Select(t => $"| {t.Target} | {t.Measured} | {(t.Pass ? "PASS" : "FAIL")} |"));
    if (report.GetValueOrDefault("campaign") is Dictionary<string, object?> c)
        md.AddRange(["", string.Create(CultureInfo.InvariantCulture,
            $"Also measured: live latency p50 {c["liveLatencyP50"]:0.000} s, max {c["liveLatencyMax"]:0.000} s over {c["liveRequests"]} live requests; worker peak RSS {c["workerPeakMiB"]:0} MiB; the 10,000-row start command's peak RSS {c["startCommandPeakMiB"]:0} MiB; {c["calls"]} Upflow calls, {c["calls429"]} answered 429.")]);
    md.AddRange(["", $"Raw figures: [{name}.json]({name}.json)."]);
    await File.WriteAllLinesAsync(Path.Combine(results, $"{name}.md"), md);
    return targets.All(t => t.Pass) ? 0 : 1;
}

// Ready when a warm-up request has its outcome (schema migrated, bus up, JIT warm). One every 2 s until then: on a fresh
// virtual host no queue is bound to the exchange until the worker's bus is up, and RabbitMQ drops what it cannot route (a
// single warm-up request was lost that way and the campaign started against a cold worker).
async Task WarmUpAsync(MeasuredProcess worker)
{
    var readyBy = Stopwatch.GetTimestamp();
    var warmIds = new List<Guid>();
    bool Warm() => warmIds.Any(id => Answer(id) is not null);
    while (!Warm() && Stopwatch.GetElapsedTime(readyBy) < TimeSpan.FromSeconds(60))
    {
        var warm = new GeneratePortalLink(Guid.NewGuid(), $"external:warm-{Guid.NewGuid():N}");
        warmIds.Add(warm.RequestId);
        liveSent[warm.RequestId] = Stopwatch.GetTimestamp();
        await observer.Bus.Publish(warm);
        var published = Stopwatch.GetTimestamp();
        while (!Warm() && Stopwatch.GetElapsedTime(published) < TimeSpan.FromSeconds(2))
            await Task.Delay(100);
    }
    if (!Warm())
        throw new InvalidOperationException($"The worker answered no warm-up request within 60 s. Its output:\n{worker.Output}");
    foreach (var id in warmIds)
        liveSent.TryRemove(id, out _);
}
