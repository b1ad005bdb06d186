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

