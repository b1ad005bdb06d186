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

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(string directory, BenchSettings settings, DateTimeOffset startedAt, double totalSeconds,
        IReadOnlyList<ScenarioResult> results, IReadOnlyList<string> errors)
    {
        Directory.CreateDirectory(directory);
        var document = new
        {
            machine = new
            {
                nproc = Environment.ProcessorCount,
                memoryGiB = Math.Round(MemTotalBytes() / 1024.0 / 1024 / 1024, 1),
                os = RuntimeInformation.OSDescription,
                runtime = RuntimeInformation.FrameworkDescription,
                date = startedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", Inv),
            },
            parameters = new
            {
                mode = settings.Quick ? "quick" : "full",
                limitPerSecond = settings.Limit,
                settings.PerSecondRequests,
                settings.PerMinuteRequests,
                settings.CampaignRequests,
                liveIntervalSeconds = settings.LiveInterval.TotalSeconds,
                simulatorLatencyMs = settings.LatencyMs,
                workerMaxConcurrentRequests = ScenarioRunner.WorkerMaxConcurrentRequests,
                rabbitMqVirtualHost = new Uri(settings.RabbitMq).AbsolutePath.TrimStart('/'),
                only = settings.Only,
            },
            totalSeconds = Math.Round(totalSeconds, 1),
            scenarios = results,
            errors,
        };
        File.WriteAllText(Path.Combine(directory, settings.Name + ".json"), JsonSerializer.Serialize(document, Json));
        var markdown = Markdown(settings, startedAt, totalSeconds, results, errors);
        File.WriteAllText(Path.Combine(directory, settings.Name + ".md"), markdown);
        Console.WriteLine();
        Console.WriteLine(markdown);
    }

    private static string Markdown(BenchSettings s, DateTimeOffset startedAt, double totalSeconds, IReadOnlyList<ScenarioResult> results,
        IReadOnlyList<string> errors)
    {
        var md = new StringBuilder();
        md.AppendLine(Inv, $"# Rate-limit benchmark ({(s.Quick ? "quick" : "full")} run{(s.Only.Count > 0 ? ", --only " + string.Join(",", s.Only) : "")})");
        md.AppendLine();
        md.AppendLine(Inv, $"- Machine: nproc {Environment.ProcessorCount}, memory {MemTotalBytes() / 1024.0 / 1024 / 1024:0.0} GiB, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        md.AppendLine(Inv, $"- Date: {startedAt:yyyy-MM-dd HH:mm:ss} UTC; whole run {totalSeconds:0} s");
        md.AppendLine(Inv, $"- L = {s.Limit:0.##}/s (the simulator's limit in every scenario); bulk items per scenario: {s.PerSecondRequests} (per-second shapes), {s.PerMinuteRequests} (per-minute window), {s.CampaignRequests} (campaign); a live request every {s.LiveInterval.TotalSeconds:0} s; simulator latency {s.LatencyMs} ms.");
        md.AppendLine(Inv, $"- Worker: `Upflow:MaxRequestsPerSecond` = L or 3L on every replica; everything else its options classes' defaults (`Upflow:MaxConcurrentRequests` {ScenarioRunner.WorkerMaxConcurrentRequests}). Replicas are hosts in the bench's process sharing one database and API key.");
        md.AppendLine("- Efficiency = ((bulk + live) ÷ the shape's long-run rate) ÷ (first publish → last outcome). Peak in-flight: the simulator's `peakInFlight` (every replica). Settle: from when the simulator's calls per UTC second stay within 5 % of L.");
        md.AppendLine();
        md.AppendLine("| scenario | worker rate | N + live | elapsed s | efficiency | 429s | peak in-flight | max 5-s / 5L | live p50 / p95 / max s | settle s | targets |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var workerRate = r.Replicas > 1 ? $"{r.Replicas} × {r.WorkerRatePerReplica:0.##}/s" : $"{r.WorkerRatePerReplica:0.##}/s";
            var settle = r.LiveP95AfterFirstMinute is { } afterMinute
                ? $"(live p95 after 1 min {afterMinute:0.00})"
                : r.CallsPerSecond is null ? "" : r.SettleSeconds is { } x ? $"{x:0}" : "never";
            var failed = r.Targets.Where(t => !t.Pass).ToList();
            md.AppendLine(Inv,
                $"| {r.Id} | {workerRate} | {r.Requests} + {r.LiveRequests}{(r.Completed ? "" : " (timeout)")} | {r.ElapsedSeconds:0.0} | {r.Efficiency:0.000} | {r.Calls429} ({r.Share429:P1}) | {r.PeakInFlight} | {r.Max5sWindowRatio:0.00} | {r.LiveP50:0.00} / {r.LiveP95:0.00} / {r.LiveMax:0.00} | {settle} | {(failed.Count == 0 ? "PASS" : $"FAIL {failed.Count}/{r.Targets.Count}")} |");
        }
        md.AppendLine();
        md.AppendLine("| scenario | target | measured | result |");
        md.AppendLine("|---|---|---|---|");
        foreach (var r in results)
            foreach (var t in r.Targets)
                md.AppendLine(Inv, $"| {r.Id} | {t.Target} | {t.Measured} | {(t.Pass ? "PASS" : "FAIL")} |");

        foreach (var r in results.Where(r => r.FailureSamples.Count > 0))
        {
            md.AppendLine();
            md.AppendLine(Inv, $"Failures ({r.Id}), up to 5 distinct:");
            foreach (var f in r.FailureSamples)
                md.AppendLine(Inv, $"- {f}");
        }
        foreach (var error in errors)
        {
            md.AppendLine();
            md.AppendLine(Inv, $"Scenario {error} (not run to the end; no figures)");
        }
        md.AppendLine();
        md.AppendLine("Calls by status: " + string.Join("; ", results.Select(r =>
            $"{r.Id}: " + string.Join(", ", r.CallsByStatus.Select(kv => $"{kv.Key}={kv.Value}")))));
        md.AppendLine();
        md.AppendLine("Calls per second at 3L (per-second shapes; every bucket in the JSON), first 20 s:");
        md.AppendLine();
        foreach (var r in results.Where(r => r.CallsPerSecond is not null))
            md.AppendLine(Inv, $"- {r.Id}: {string.Join(" ", r.CallsPerSecond!.Take(20))}");
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
