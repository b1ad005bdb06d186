namespace ThroughputBench;

/// <summary>The median of a scenario's repetitions (only runs that lost or failed nothing count).</summary>
internal sealed record Summary(
    string Scenario,
    string Config,
    int? Concurrency,
    int Processes,
    int Requests,
    int Runs,
    int OkRuns,
    double PerSecond,
    double CoreMsPerOperation,
    double? PeakRssMb,
    double? SimulatorCoreMsPerOperation,
    double? MachineBusyCores)
{
    public static List<Summary> Of(IEnumerable<RunResult> results) =>
        results.GroupBy(r => (r.Scenario, r.Config, r.Processes))
            .Select(g =>
            {
                var ok = g.Where(r => r.Ok).ToList();
                var first = g.First();
                return new Summary(first.Scenario, first.Config, first.Concurrency, first.Processes, first.Requests, g.Count(), ok.Count,
                    Stats.Median(ok.Select(r => r.PerSecond)),
                    Stats.Median(ok.Select(r => r.CoreMsPerOperation)),
                    ok.Count == 0 ? null : Stats.Median(ok.Select(r => r.PeakRssMb ?? 0)),
                    ok.Count == 0 || ok.Any(r => r.SimulatorCpuSeconds is null) ? null
                        : Stats.Median(ok.Select(r => r.SimulatorCpuSeconds!.Value * 1000 / r.Requests)),
                    ok.Count == 0 || ok.Any(r => r.MachineBusyCores is null) ? null : Stats.Median(ok.Select(r => r.MachineBusyCores!.Value)));
            })
            .ToList();
}

/// <summary>One of the targets, checked against the medians.</summary>
internal sealed record TargetCheck(string Target, string Measured, bool Pass);
