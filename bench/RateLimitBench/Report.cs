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
        var document = new RunDocument(
            new RunMachine(Environment.ProcessorCount, Math.Round(MemTotalBytes() / 1024.0 / 1024 / 1024, 1),
                RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
                startedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", Inv)),
            new RunParameters(settings.Quick ? "quick" : "full", settings.Limit, settings.PerSecondRequests, settings.PerMinuteRequests,
                settings.CampaignRequests, settings.LiveInterval.TotalSeconds, settings.LatencyMs, ScenarioRunner.WorkerMaxConcurrentRequests,
                new Uri(settings.RabbitMq).AbsolutePath.TrimStart('/'), settings.Only),
            Math.Round(totalSeconds, 1), results, errors);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, settings.Name + ".json"), JsonSerializer.Serialize(document, Json));
        WriteMarkdown(directory, settings.Name, document);
    }

    /// <summary>Writes <c>&lt;name&gt;.md</c> again from <c>&lt;name&gt;.json</c> (after a change to the tables).</summary>
    public static void Rewrite(string directory, string name)
    {
        var document = JsonSerializer.Deserialize<RunDocument>(File.ReadAllText(Path.Combine(directory, name + ".json")), Json)
                       ?? throw new InvalidOperationException($"{name}.json is empty");
        WriteMarkdown(directory, name, document);
    }

    private static void WriteMarkdown(string directory, string name, RunDocument document)
    {
        var markdown = Markdown(document);
        File.WriteAllText(Path.Combine(directory, name + ".md"), markdown);
        Console.WriteLine();
        Console.WriteLine(markdown);
    }

    private static string Markdown(RunDocument d)
    {
        var (m, p, results) = (d.Machine, d.Parameters, d.Scenarios);
        var md = new StringBuilder();
        md.AppendLine(Inv, $"# Rate-limit benchmark ({p.Mode} run{(p.Only.Count > 0 ? ", --only " + string.Join(",", p.Only) : "")})");
        md.AppendLine();
        md.AppendLine(Inv, $"- Machine: nproc {m.Nproc}, memory {m.MemoryGiB:0.0} GiB, {m.Os}, {m.Runtime}");
        md.AppendLine(Inv, $"- Date: {m.Date}; whole run {d.TotalSeconds:0} s");
        md.AppendLine(Inv, $"- L = {p.LimitPerSecond:0.##}/s (the simulator's limit in every scenario); bulk items per scenario: {p.PerSecondRequests} (per-second shapes), {p.PerMinuteRequests} (per-minute window), {p.CampaignRequests} (campaign); a live request every {p.LiveIntervalSeconds:0} s; simulator latency {p.SimulatorLatencyMs} ms.");
        md.AppendLine(Inv, $"- Worker: `Upflow:MaxRequestsPerSecond` = L or 3L on every replica; everything else its options classes' defaults (`Upflow:MaxConcurrentRequests` {p.WorkerMaxConcurrentRequests}). Replicas are hosts in the bench's process sharing one database and API key. One unreported warm-up scenario (200 items, sliding window at L, 1 replica) runs first, so that no reported scenario carries the process's JIT cost.");
        md.AppendLine("- Efficiency = ((bulk + live) ÷ the shape's long-run rate) ÷ (first publish → last outcome). Peak in-flight: the simulator's `peakInFlight` (every replica). Settle: from when the simulator's calls per UTC second stay within 5 % of L.");
        md.AppendLine();
        md.AppendLine("## Summary");
        md.AppendLine();
        md.Append(Summary(results));
        md.AppendLine();
        md.AppendLine("## Every scenario");
        md.AppendLine();
        md.AppendLine("| scenario | worker rate | N + live | elapsed s | efficiency | 429s | peak in-flight | max 5-s / 5L | live p50 / p95 / max s | settle s | targets |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var workerRate = r.Replicas > 1 ? $"{r.Replicas} × {r.WorkerRatePerReplica:0.##}/s" : $"{r.WorkerRatePerReplica:0.##}/s";
            var failed = r.Targets.Count(t => !t.Pass);
            md.AppendLine(Inv,
                $"| {r.Id} | {workerRate} | {r.Requests} + {r.LiveRequests}{(r.Completed ? "" : " (timeout)")} | {r.ElapsedSeconds:0.0} | {r.Efficiency:0.000} | {r.Calls429} ({r.Share429:P1}) | {r.PeakInFlight} | {r.Max5sWindowRatio:0.00} | {r.LiveP50:0.00} / {r.LiveP95:0.00} / {r.LiveMax:0.00} | {Settle(r)} | {(failed == 0 ? "PASS" : $"FAIL {failed}/{r.Targets.Count}")} |");
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
        foreach (var error in d.Errors)
        {
            md.AppendLine();
            md.AppendLine(Inv, $"Scenario {error} (not run to the end; no figures)");
        }
        md.AppendLine();
        md.AppendLine("Calls by status: " + string.Join("; ", results.Select(r =>
            $"{r.Id}: " + string.Join(", ", r.CallsByStatus.Select(kv => $"{kv.Key}={kv.Value}")))));
        md.AppendLine();
        md.AppendLine("Calls per second (per-second shapes, UTC seconds; every bucket in the JSON), first 20 s:");
        md.AppendLine();
        foreach (var r in results.Where(r => r.CallsPerSecond is not null))
            md.AppendLine(Inv, $"- {r.Id}: {string.Join(" ", r.CallsPerSecond!.Take(20))}");
        return md.ToString();
    }

    /// <summary>One row per shape and worker rate, the replica counts side by side (1 / 2, and 3 where run).</summary>
    public static string Summary(IReadOnlyList<ScenarioResult> results)
    {
        var md = new StringBuilder();
        md.AppendLine("| scenario (replicas) | efficiency | 429s | peak in-flight | max 5-s / 5L | live p95 s | settle s | targets |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var row in results.GroupBy(r => r.Id[..r.Id.LastIndexOf('/')]))
        {
            var rs = row.OrderBy(r => r.Replicas).ToList();
            string Cells(Func<ScenarioResult, string> cell) => string.Join(" / ", rs.Select(cell));
            md.AppendLine(Inv,
                $"| {row.Key} ({Cells(r => r.Replicas.ToString(Inv))}) | {Cells(r => r.Efficiency.ToString("0.00", Inv))} | {Cells(r => r.Share429.ToString("P1", Inv))} | {Cells(r => r.PeakInFlight.ToString(Inv))} | {Cells(r => r.Max5sWindowRatio.ToString("0.00", Inv))} | {Cells(r => r.LiveP95.ToString("0.00", Inv))} | {Cells(Settle)} | {Cells(r => r.Targets.All(t => t.Pass) ? "PASS" : $"FAIL {r.Targets.Count(t => !t.Pass)}")} |");
        }
        return md.ToString();
    }

    /// <summary>The settle time at 3L under a per-second shape; under the per-minute window the live p95 after its first minute.</summary>
    private static string Settle(ScenarioResult r) =>
        r.LiveP95AfterFirstMinute is { } afterMinute ? $"p95 after 1 min {afterMinute.ToString("0.00", Inv)}"
        : r.CallsPerSecond is null || r.WorkerRatePerReplica <= r.Limit ? "–"
        : r.SettleSeconds is { } s ? s.ToString("0", Inv) : "never";

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
