using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ThroughputBench;

/// <summary>Prints the table and writes bench/results/&lt;name&gt;.md and .json.</summary>
internal static class Report
{
    public const double RatioTarget = 0.80;
    public const double CoreMsTarget = 1.0;
    public const double RssSpreadTarget = 10;
    public const double RssCeilingMb = 300;

    /// <summary>The single-process configuration (a concurrency level or the defaults) with the highest median links/s;
    /// the highest level if none ran.</summary>
    public static WorkerConfig BestConfig(IEnumerable<RunResult> results, BenchSettings settings)
    {
        var best = Summary.Of(results.Where(r => r.Scenario == "worker" && r.Processes == 1))
            .Where(s => s.OkRuns > 0)
            .OrderByDescending(s => s.PerSecond)
            .FirstOrDefault();
        return best switch
        {
            null => WorkerConfig.AtConcurrency(settings.Concurrencies.Max()),
            { Config: var label } when label == WorkerConfig.Defaults.Label => WorkerConfig.Defaults,
            _ => WorkerConfig.AtConcurrency(best.Concurrency!.Value),
        };
    }

    /// <summary>Returns false when a run failed or lost links, or a scenario could not run.</summary>
    public static bool Write(string directory, string name, BenchSettings settings, string repository, DateTimeOffset startedAt,
        double seconds, List<RunResult> results, List<string> errors)
    {
        var summaries = Summary.Of(results);
        var targets = Targets(summaries, results);
        var md = Markdown(settings, repository, startedAt, seconds, summaries, targets, results, errors);
        Console.WriteLine();
        Console.WriteLine(md);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, name + ".md"), md);
        var json = new
        {
            mode = settings.Quick ? "quick (small N, one repetition: checks the harness, figures are noisy)" : "full",
            machine = Machine(),
            startedAt,
            durationSeconds = Math.Round(seconds),
            timeZone = "UTC",
            git = Git(repository),
            parameters = new
            {
                settings.Repetitions,
                settings.Requests,
                settings.RequestsAtConcurrency1,
                settings.WarmUpRequests,
                settings.WarmUpSeconds,
                settings.Concurrencies,
                settings.NaiveRequests,
                memoryRequests = settings.Memory ? settings.MemoryRequests : (int?)null,
                settings.PartRabbitMessages,
                settings.PartPostgresInserts,
                settings.PartSimulatorCalls,
                settings.PartConcurrency,
                simulatorLatencyMs = settings.LatencyMs,
                simulatorRateLimit = 0,
                workerMaxRequestsPerSecond = 0,
                workerPrefetch = "2 x concurrency (defaults: 32)",
                settings.WorkerLogLevel,
                settings.WorkerEnvironment,
                settings.MaxBacklog,
                rabbitMqVirtualHost = new Uri(settings.RabbitMq).AbsolutePath,
            },
            targets,
            summary = summaries,
            runs = results,
            errors,
        };
        File.WriteAllText(Path.Combine(directory, name + ".json"), JsonSerializer.Serialize(json, new JsonSerializerOptions
        {
            WriteIndented = true,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        Console.WriteLine($"Written: {Path.Combine(directory, name + ".md")} and .json");
        return errors.Count == 0 && results.All(r => r.Ok);
    }

    private static List<TargetCheck> Targets(List<Summary> summaries, List<RunResult> results)
    {
        var checks = new List<TargetCheck>();
        var workers = summaries.Where(s => s.Scenario == "worker" && s.Processes == 1 && s.OkRuns > 0).ToList();
        // Paired by configuration: "defaults" (16 messages, 5 Upflow calls) with the bare loop limited alike.
        var bare = summaries.Where(s => s.Scenario == "bare" && s.OkRuns > 0).ToDictionary(s => s.Config);
        foreach (var w in workers.OrderBy(w => w.Concurrency))
        {
            if (bare.TryGetValue(w.Config, out var b))
            {
                var ratio = w.PerSecond / b.PerSecond;
                checks.Add(new($"worker {w.Config} / bare loop {b.Config} >= {RatioTarget:0.00}",
                    $"{w.PerSecond:0} / {b.PerSecond:0} = {ratio:0.00}", ratio >= RatioTarget));
            }
        }
        var bestWorker = workers.MaxBy(w => w.PerSecond);
        var bestBare = bare.Values.MaxBy(b => b.PerSecond);
        if (bestWorker is not null && bestBare is not null)
            checks.Add(new($"best worker / best bare loop (the ceiling) >= {RatioTarget:0.00}",
                $"{bestWorker.PerSecond:0} ({bestWorker.Config}) / {bestBare.PerSecond:0} ({bestBare.Config}) = {bestWorker.PerSecond / bestBare.PerSecond:0.00}",
                bestWorker.PerSecond / bestBare.PerSecond >= RatioTarget));
        foreach (var w in workers.OrderBy(w => w.Concurrency))
            checks.Add(new($"worker {w.Config}: core-ms per link <= {CoreMsTarget:0.0}", $"{w.CoreMsPerOperation:0.000}",
                w.CoreMsPerOperation <= CoreMsTarget));
        var memory = results.FirstOrDefault(r => r.Scenario == "memory" && r.Memory is not null);
        if (memory?.Memory is { } m)
        {
            checks.Add(new($"RSS flat over {memory.Requests:N0} links: within +-{RssSpreadTarget:0} % of the median after warm-up",
                $"{m.MinMb:0}-{m.MaxMb:0} MB around {m.MedianMb:0} MB: -{m.SpreadBelowPercent:0.0} % / +{m.SpreadAbovePercent:0.0} %",
                memory.Ok && m.SpreadBelowPercent <= RssSpreadTarget && m.SpreadAbovePercent <= RssSpreadTarget));
            checks.Add(new($"RSS peak < {RssCeilingMb:0} MB", $"{memory.PeakRssMb:0} MB", memory.Ok && memory.PeakRssMb < RssCeilingMb));
        }
        return checks;
    }

    private static string Markdown(BenchSettings settings, string repository, DateTimeOffset startedAt, double seconds,
        List<Summary> summaries, List<TargetCheck> targets, List<RunResult> results, List<string> errors)
    {
        var machine = Machine();
        var git = Git(repository);
        var sb = new StringBuilder();
        var workerEnvironment = settings.WorkerEnvironment.Count == 0
            ? ""
            : ", worker environment " + string.Join(" ", settings.WorkerEnvironment.Select(e => $"{e.Key}={e.Value}"));
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Throughput benchmark{(settings.Quick ? " — QUICK RUN (small N, 1 repetition, noisy: checks the harness, not the worker)" : "")}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"{startedAt:yyyy-MM-dd HH:mm} UTC, {seconds / 60:0.0} min; commit {git.commit}{(git.dirty ? " (uncommitted changes)" : "")}; " +
            $"{machine.cores} cores ({machine.cpuModel}), {machine.memoryGb:0} GiB; load average at the end {machine.loadAverage}.");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Simulator latency {settings.LatencyMs} ms, no rate limit; worker `Upflow:MaxRequestsPerSecond=0`, log level {settings.WorkerLogLevel}{workerEnvironment}; " +
            $"N = {settings.Requests} per end-to-end run ({settings.RequestsAtConcurrency1} at c=1) after a warm-up of at least {settings.WarmUpRequests} requests and {settings.WarmUpSeconds} s; " +
            $"median of {settings.Repetitions} run(s). c=C: `Consumer:ConcurrentMessageLimit` = `Upflow:MaxConcurrentRequests` = C, " +
            $"`Consumer:PrefetchCount` = 2C; defaults: 16 / 5 / 32. Each worker's Npgsql `Maximum Pool Size` = min(100, " +
            $"(PostgreSQL max_connections − 10) ÷ processes) (`poolSize` in the JSON).");
        sb.AppendLine();
        sb.AppendLine("| scenario | config | processes | N | ok runs | links/s (ops/s) | core-ms per link | CPU-s per 1,000 | peak RSS MB | simulator core-ms per link | machine busy cores |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in summaries)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Scenario} | {s.Config} | {s.Processes} | {s.Requests} | {s.OkRuns}/{s.Runs} | {F(s.PerSecond, "0")} | {F(s.CoreMsPerOperation, "0.000")} | " +
                $"{F(s.CoreMsPerOperation, "0.000")} | {F(s.PeakRssMb, "0")} | {F(s.SimulatorCoreMsPerOperation, "0.000")} | {F(s.MachineBusyCores, "0.00")} |");
        sb.AppendLine();
        sb.AppendLine("| target | measured | |");
        sb.AppendLine("|---|---|---|");
        foreach (var t in targets)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {t.Target} | {t.Measured} | **{(t.Pass ? "PASS" : "FAIL")}** |");
        var memory = results.FirstOrDefault(r => r.Memory is not null);
        if (memory?.Memory is { } m)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"Memory run ({memory.Config}, {memory.Requests:N0} links in {memory.Seconds:0} s, {memory.PerSecond:0}/s): RSS after the first " +
                $"{m.WarmUpLinks:N0} links min {m.MinMb:0} / median {m.MedianMb:0} / max {m.MaxMb:0} MB, peak (VmHWM) {memory.PeakRssMb:0} MB; " +
                $"{m.Samples.Count} samples (1 s) in the JSON.");
        }
        var failed = results.Where(r => !r.Ok).ToList();
        if (failed.Count > 0 || errors.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Failed runs (not counted in the medians):");
            foreach (var r in failed)
                sb.AppendLine(CultureInfo.InvariantCulture, $"- {r.Scenario} {r.Config} x{r.Processes} #{r.Repetition}: {r.Problem}");
            foreach (var e in errors)
                sb.AppendLine(CultureInfo.InvariantCulture, $"- {e}");
        }
        sb.AppendLine();
        sb.AppendLine("How to read it: bench/ThroughputBench/README.md. core-ms per link = CPU-s per 1,000 links (the same number): " +
                      "utime+stime of the measured process(es) over the measured window ÷ links. Machine busy cores include PostgreSQL, " +
                      "RabbitMQ, the simulator, the bench and anything else running on the machine.");
        return sb.ToString();
    }

    private static string F(double? value, string format) =>
        value is { } v && !double.IsNaN(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    private sealed record MachineInfo(int cores, string cpuModel, double memoryGb, string loadAverage, string os);

    private sealed record GitInfo(string commit, bool dirty);

    private static MachineInfo Machine() =>
        new(Environment.ProcessorCount, ProcStat.CpuModel(), ProcStat.TotalMemoryBytes() / (1024.0 * 1024 * 1024),
            File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => $"{a} {b}"),
            System.Runtime.InteropServices.RuntimeInformation.OSDescription);

    private static GitInfo Git(string repository)
    {
        try
        {
            var commit = RunGit(repository, "rev-parse --short HEAD").Trim();
            var dirty = RunGit(repository, "status --porcelain --untracked-files=no").Trim().Length > 0;
            return new(commit, dirty);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new("unknown", false);
        }
    }

    private static string RunGit(string repository, string arguments)
    {
        using var git = Process.Start(new ProcessStartInfo("git", $"-C \"{repository}\" {arguments}")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        return output;
    }
}
