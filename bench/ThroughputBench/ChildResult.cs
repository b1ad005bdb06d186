using System.Text.Json;
using PortalLinkWorker.TestKit;

namespace ThroughputBench;

/// <summary>What a self-timed child mode (naive loop, part ceilings) reports on its last output line, prefixed
/// <c>RESULT </c>: operations done in its measured window, the window's length and the process's CPU over it.</summary>
internal sealed record ChildResult(int Operations, double Seconds, double CpuSeconds, long PeakRssBytes, int Errors, string? FirstError)
{
    public const string Prefix = "RESULT ";

    public void Print() => Console.WriteLine(Prefix + JsonSerializer.Serialize(this));

    public static ChildResult? Find(string log)
    {
        var line = log.Split('\n').LastOrDefault(l => l.StartsWith(Prefix, StringComparison.Ordinal));
        return line is null ? null : JsonSerializer.Deserialize<ChildResult>(line[Prefix.Length..]);
    }

    /// <summary>Times <paramref name="work"/> and reads this process's CPU before and after it.</summary>
    public static async Task<ChildResult> MeasureAsync(Func<Task<(int Done, int Errors, string? FirstError)>> work)
    {
        var pid = Environment.ProcessId;
        var cpu0 = ProcStat.CpuSeconds(pid) ?? 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (done, errors, firstError) = await work();
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = (ProcStat.CpuSeconds(pid) ?? 0) - cpu0;
        return new ChildResult(done, seconds, cpu, ProcessMemory.Read(pid)?.Peak ?? 0, errors, firstError);
    }
}
