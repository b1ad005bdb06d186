using PortalLinkWorker.TestKit;

namespace CampaignBench;

/// <summary>The built worker DLL as a child process (the worker, or one of its commands), with its peak resident memory
/// followed while it runs.</summary>
internal sealed class MeasuredProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly PeakMemory _peak;

    private MeasuredProcess(ChildProcess process)
    {
        _process = process;
        _peak = PeakMemory.Follow(process.Pid);
    }

    public static MeasuredProcess Start(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> settings) =>
        new(ChildProcess.StartDll("worker", dll, args, settings));

    public string Output => _process.Output;

    /// <summary>Peak resident set size seen so far, in MiB.</summary>
    public double PeakMiB => _peak.PeakMiB;

    public Task<int> WaitForExitAsync(TimeSpan patience) => _process.WaitForExitAsync(patience);

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        await _peak.DisposeAsync();
    }
}
