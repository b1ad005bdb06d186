using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace RateLimitBench;

/// <summary>Writes the results as JSON and as a markdown table (with the machine and the parameters), and prints the table.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static object Machine(DateTimeOffset startedAt) => new
    {
        nproc = Environment.ProcessorCount,
        memoryGiB = Math.Round(MemTotalBytes() / 1024.0 / 1024 / 1024, 1),
        os = RuntimeInformation.OSDescription,
        runtime = RuntimeInformation.FrameworkDescription,
        date = startedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
    };

    public static object Parameters(BenchSettings s) => new
    {
        mode = s.Quick ? "quick" : "full",
        limitPerSecond = s.Limit,
        requests = s.Requests,
        outageRequests = s.OutageRequests,
        outageSeconds = s.Outage.TotalSeconds,
        simulatorLatencyMs = s.LatencyMs,
        upflowMaxConcurrentRequests = s.MaxConcurrentRequests,
        consumerConcurrentMessageLimit = s.ConcurrentMessageLimit,
        rabbitMqVirtualHost = new Uri(s.RabbitMq).AbsolutePath.TrimStart('/'),
        otherWorkerSettings = "class defaults of UpflowOptions/ConsumerOptions (OutageProbeInterval 5 s, MaxInMemoryWait 10 s, MaxRetryAttempts 6, RetryBaseDelay 0.5 s, TotalTimeout 60 s, PrefetchCount 32, BurstWindow 0.1 s)",
    };

    public static void Write(string directory, string name, BenchSettings settings, DateTimeOffset startedAt, double totalSeconds,
        IReadOnlyList<ScenarioResult> results, IReadOnlyList<string> errors)
    {
        Directory.CreateDirectory(directory);
        var document = new
        {
            machine = Machine(startedAt),
            parameters = Parameters(settings),
            totalSeconds = Math.Round(totalSeconds, 1),
            scenarios = results,
            errors,
        };
        File.WriteAllText(Path.Combine(directory, name + ".json"), JsonSerializer.Serialize(document, Json));
        var markdown = Markdown(settings, startedAt, totalSeconds, results, errors);
        File.WriteAllText(Path.Combine(directory, name + ".md"), markdown);
        Console.WriteLine();
        Console.WriteLine(markdown);
    }

    private static string Markdown(BenchSettings s, DateTimeOffset startedAt, double totalSeconds, IReadOnlyList<ScenarioResult> results,
        IReadOnlyList<string> errors)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"# Rate-limit benchmark ({(s.Quick ? "quick" : "full")} run)");
        md.AppendLine();
        md.AppendLine(inv, $"- Machine: nproc {Environment.ProcessorCount}, memory {MemTotalBytes() / 1024.0 / 1024 / 1024:0.0} GiB, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        md.AppendLine(inv, $"- Date: {startedAt:yyyy-MM-dd HH:mm:ss} UTC; whole run {totalSeconds:0} s");
        md.AppendLine(inv, $"- Parameters: L = {s.Limit}/s, N = {s.Requests} (a, b, c), N = {s.OutageRequests} with a {s.Outage.TotalSeconds:0}-s outage (d); simulator latency {s.LatencyMs} ms; worker Upflow:MaxConcurrentRequests {s.MaxConcurrentRequests}, Consumer:ConcurrentMessageLimit {s.ConcurrentMessageLimit}, other settings are the options classes' defaults (OutageProbeInterval 5 s, MaxInMemoryWait 10 s, BurstWindow 0.1 s, retries 6 from 0.5 s)");
        md.AppendLine("- Worker host(s), Upflow simulator, observer bus and this benchmark share one process; PostgreSQL and RabbitMQ are local servers.");
        md.AppendLine("- Elapsed: first publish to last first-outcome event received. Ideal: N/L (d: N/L + outage). budget_wait: the worker's `portallink.upflow.budget_wait` histogram, every measurement.");
        md.AppendLine();
        md.AppendLine("| scenario | worker rate | sim limit | N | outcomes | failed | elapsed s | ideal s | ratio | calls | first / last call s | call rate first→last /s | 429s | max 5-s window / 5L | budget_wait p50 / p95 / max s | min effective rate |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var ideal = r.IdealSeconds + (r.OutageSeconds ?? 0);
            var workerRate = r.Replicas > 1 ? $"{r.Replicas} x {r.WorkerRatePerReplica:0.##}/s" : $"{r.WorkerRatePerReplica:0.##}/s";
            var simLimit = r.SimulatorRateLimit > 0 ? $"{r.SimulatorRateLimit:0.##}/s" : "none";
            md.AppendLine(inv,
                $"| {r.Id}. {r.Title} | {workerRate} | {simLimit} | {r.Requests} | {r.Outcomes}{(r.Completed ? "" : " (timeout)")} | {r.Failed + r.Faulted} | {r.ElapsedSeconds:0.0} | {ideal:0.0} | {r.ElapsedSeconds / ideal:0.000} | {r.Calls} | {r.FirstCallSeconds:0.00} / {r.LastCallSeconds:0.0} | {r.CallRateFirstToLast:0.00} | {r.Calls429} ({r.Share429:P1}) | {r.Max5sWindowCalls} / {5 * r.Limit:0} = {r.Max5sWindowRatio:0.000} | {r.BudgetWaitP50:0.000} / {r.BudgetWaitP95:0.000} / {r.BudgetWaitMax:0.00} | {(r.MinEffectiveRate is { } m ? m.ToString("0.##", inv) : "n/a")} |");
        }
        md.AppendLine();
        md.AppendLine("| scenario | target | measured | result |");
        md.AppendLine("|---|---|---|---|");
        foreach (var r in results)
            foreach (var t in r.Targets)
                md.AppendLine(inv, $"| {r.Id} | {t.Target} | {t.Measured} | {(t.Pass ? "PASS" : "FAIL")} |");

        foreach (var r in results.Where(r => r.OutageSeconds is not null))
        {
            md.AppendLine();
            md.AppendLine(inv, $"Outage ({r.Id}): errorRate 1.0 set at {r.OutageStartSeconds:0.0} s for {r.OutageSeconds:0} s; {r.CallsDuringOutage} portal calls reached the simulator meanwhile; first 200 after errorRate 0: {(r.RecoveryToFirst200Seconds is { } x ? $"{x:0.00} s" : "none")}.");
        }
        foreach (var r in results.Where(r => r.EffectiveRate.Count > 0 && r.Id == "b"))
        {
            md.AppendLine();
            md.AppendLine(inv, $"Effective rate ({r.Id}), gauge sampled every second (every 5th sample shown; all in the JSON):");
            md.AppendLine();
            md.AppendLine("| t s | rate/s |");
            md.AppendLine("|---|---|");
            foreach (var sample in r.EffectiveRate.Where((_, i) => i % 5 == 0))
                md.AppendLine(inv, $"| {sample.AtSeconds:0} | {string.Join(", ", sample.Rates.Select(x => x.ToString("0.##", inv)))} |");
        }
        foreach (var r in results.Where(r => r.FailureSamples.Count > 0))
        {
            md.AppendLine();
            md.AppendLine(inv, $"Failures ({r.Id}), up to 5 distinct: ");
            foreach (var f in r.FailureSamples)
                md.AppendLine(inv, $"- {f}");
        }
        foreach (var error in errors)
        {
            md.AppendLine();
            md.AppendLine(inv, $"Scenario {error} (not run to the end; no figures)");
        }
        md.AppendLine();
        md.AppendLine("Calls by status: " + string.Join("; ", results.Select(r =>
            $"{r.Id}: " + string.Join(", ", r.CallsByStatus.Select(kv => $"{kv.Key}={kv.Value}")))));
        return md.ToString();
    }

    private static long MemTotalBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        }
    }
}
