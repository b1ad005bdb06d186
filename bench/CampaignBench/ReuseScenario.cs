using System.Diagnostics;
using PortalLinkContracts;
using PortalLinkWorker.TestKit;

namespace CampaignBench;

/// <summary>
/// Issue 16's campaign: N customers of which half already hold a link valid long enough. A first campaign gives every
/// even customer a 30-day link; the measured campaign asks all N for a 30-day link with <c>--reuse-if-valid-for 7d</c>.
/// The reused half costs no Upflow call, so the run cannot take less than (N/2)/L; the target is ≤ 0.55 × N/L with
/// exactly N/2 Upflow calls.
/// </summary>
internal static class ReuseScenario
{
    private const string ThirtyDays = "2592000";

    public static async Task<List<(string Target, string Measured, bool Pass)>> RunAsync(string workerDll,
        IReadOnlyDictionary<string, string> settings, ObserverBus observer, SimulatorClient simulator, int customers, double limit,
        DirectoryInfo tmp, Action<string> log, Dictionary<string, object?> report, Func<MeasuredProcess, Task> warmUp)
    {
        var ids = Enumerable.Range(0, customers).Select(i => $"external:reuse-{i}-{Guid.NewGuid():N}").ToArray();
        await using var worker = MeasuredProcess.Start(workerDll, [], settings);
        await warmUp(worker);

        var half = Path.Combine(tmp.FullName, "half.csv");
        await File.WriteAllLinesAsync(half, ["customer_id", .. ids.Where((_, i) => i % 2 == 0)]);
        log($"reuse: first campaign gives {customers / 2} of {customers} customers a 30-day link");
        var seed = await RunCampaignAsync(workerDll, settings, observer, half, [], customers / 2 / limit * 3 + 120);
        if (seed.Completion is null)
            throw new InvalidOperationException($"The seeding campaign did not complete. Worker output:\n{worker.Output}");

        await simulator.ResetAsync();
        var all = Path.Combine(tmp.FullName, "all.csv");
        await File.WriteAllLinesAsync(all, ["customer_id", .. ids]);
        var ideal = customers / limit;
        log($"reuse: campaign of {customers} with --reuse-if-valid-for 7d (N/L = {ideal:0} s)");
        var run = await RunCampaignAsync(workerDll, settings, observer, all, ["--reuse-if-valid-for", "7d"], ideal * 3 + 120);
        var calls = (await simulator.CallsAsync()).Count(c => c.CustomerId.StartsWith("external:reuse-", StringComparison.Ordinal));
        var completed = run.Completion?.Event;
        log($"  completed in {run.Seconds:0.0} s = {run.Seconds / ideal:0.000} x N/L, {calls} Upflow calls; " +
            $"{completed?.Generated} generated, {completed?.Failed} failed");
        report["reuse"] = new Dictionary<string, object?>
        {
            ["customers"] = customers,
            ["seedSeconds"] = seed.Seconds,
            ["elapsedSeconds"] = run.Seconds,
            ["idealSeconds"] = ideal,
            ["ratio"] = run.Seconds / ideal,
            ["upflowCalls"] = calls,
            ["generated"] = completed?.Generated,
            ["failed"] = completed?.Failed,
            ["workerPeakMiB"] = worker.PeakMiB,
        };
        return
        [
            ("half reused: elapsed <= 0.55 x N/L", $"{run.Seconds:0.0} s / {ideal:0} s = {run.Seconds / ideal:0.000}", run.Seconds / ideal <= 0.55),
            ("half reused: exactly N/2 Upflow calls", $"{calls} calls for {customers} customers", calls == customers / 2),
            ("half reused: every customer generated", $"{completed?.Generated} generated, {completed?.Failed} failed of {completed?.Total}",
                completed?.Generated == customers),
        ];
    }

    /// <summary>Starts a campaign with the CLI and waits for its completion event; seconds from the command's launch.</summary>
    private static async Task<(CampaignCompletion? Completion, double Seconds)> RunCampaignAsync(string workerDll,
        IReadOnlyDictionary<string, string> settings, ObserverBus observer, string csv, string[] extra, double patienceSeconds)
    {
        var campaignId = Guid.NewGuid();
        var started = Stopwatch.GetTimestamp();
        await using var start = MeasuredProcess.Start(workerDll,
            ["campaign", "start", "--file", csv, "--name", "reuse", "--expires-in", ThirtyDays, "--campaign-id", campaignId.ToString(), .. extra],
            settings);
        var exit = await start.WaitForExitAsync(TimeSpan.FromMinutes(5));
        if (exit != 0)
            throw new InvalidOperationException($"campaign start exited {exit}:\n{start.Output}");
        while (observer.CompletionsOf(campaignId).Count == 0 && Stopwatch.GetElapsedTime(started).TotalSeconds < patienceSeconds)
            await Task.Delay(100);
        var done = observer.CompletionsOf(campaignId).FirstOrDefault();
        return (done, done is null ? double.NaN : Stopwatch.GetElapsedTime(started, done.At).TotalSeconds);
    }
}
