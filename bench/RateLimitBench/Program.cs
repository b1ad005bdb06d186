using System.Diagnostics;
using PortalLinkWorker.TestKit;
using RateLimitBench;

// dotnet run -c Release --project bench/RateLimitBench -- [--quick] [--only <substring,...>] [--l 20] [--latency-ms 20]
//     [--keep-databases] [--name rate-limit]
//   or, to write <name>.md again from <name>.json: -- --rewrite-report [--name rate-limit]
if (args.Contains("--rewrite-report"))
{
    Report.Rewrite(Path.Combine(RepositoryRoot.Find(), "bench", "results"), args.SkipWhile(a => a != "--name").Skip(1).FirstOrDefault() ?? "rate-limit");
    return 0;
}

var settings = BenchSettings.FromArgs(args);
var scenarios = ScenarioSpec.Matrix(settings)
    .Where(s => settings.Only.Count == 0 || settings.Only.Any(o => s.Id.Contains(o, StringComparison.OrdinalIgnoreCase)))
    .ToList();
ScenarioRunner.Log($"{scenarios.Count} scenario(s): {string.Join(", ", scenarios.Select(s => s.Id))}");

var startedAt = DateTimeOffset.UtcNow;
var clock = Stopwatch.StartNew();
var results = new List<ScenarioResult>();
var errors = new List<string>();
await using (var env = await BenchEnvironment.StartAsync(settings))
{
    var runner = new ScenarioRunner(settings, env);
    try
    {
        // One unreported scenario first: the first scenario of a fresh process otherwise carries the JIT's cost of the
        // whole pipeline (sliding-window/L/2r alone, run first: 0.969 three times; in the matrix, warm: 0.983).
        var warmUp = new ScenarioSpec("warm-up/sliding-window/L/1r", BenchShape.SlidingWindow, 1, 1, WarmUpRequests);
        try
        {
            await runner.RunAsync(warmUp);
        }
        catch (Exception e)
        {
            ScenarioRunner.Log($"the warm-up could not run: {e.GetType().Name}: {e.Message}");
        }
        foreach (var spec in scenarios)
        {
            ScenarioResult result;
            try
            {
                result = await runner.RunAsync(spec);
            }
            catch (Exception e)
            {
                ScenarioRunner.Log($"scenario {spec.Id} could not run: {e.GetType().Name}: {e.Message}");
                errors.Add($"{spec.Id}: {e.GetType().Name}: {e.Message}");
                continue;
            }
            results.Add(result);
            foreach (var t in result.Targets)
                ScenarioRunner.Log($"  {(t.Pass ? "PASS" : "FAIL")} {t.Target}: {t.Measured}");
        }
    }
    finally
    {
        try
        {
            await env.DropDatabasesAsync();
        }
        catch (Exception e)
        {
            ScenarioRunner.Log($"dropping the databases failed: {e.Message}");
        }
    }
}

var repo = RepositoryRoot.Find();
Report.Write(Path.Combine(repo, "bench", "results"), settings, startedAt, clock.Elapsed.TotalSeconds, results, errors);
return errors.Count == 0 && results.All(r => r.Targets.All(t => t.Pass)) ? 0 : 1;

internal static partial class Program
{
    /// <summary>Bulk items of the unreported warm-up scenario: about 10 s at L = 20/s.</summary>
    private const int WarmUpRequests = 200;
}
