namespace PortalLinkWorker.TestKit;

/// <summary>Follows a process's peak resident memory (the kernel's own high-water mark, VmHWM) while it runs, so that
/// the peak is still known once the process has exited and /proc has forgotten it.</summary>
public sealed class PeakMemory : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakBytes;

    private PeakMemory(int pid)
    {
        _pid = pid;
        _sampling = Task.Run(SampleAsync);
    }

    public static PeakMemory Follow(int pid) => new(pid);

    /// <summary>Peak resident set size seen so far, in MiB.</summary>
    public double PeakMiB => Interlocked.Read(ref _peakBytes) / 1024.0 / 1024.0;

    private async Task SampleAsync()
    {
        try
        {
            using var timer = new PeriodicTimer(Interval);
            do
            {
                if (ProcessMemory.Read(_pid) is not { } memory)
                    return;
                if (memory.Peak > Interlocked.Read(ref _peakBytes))
                    Interlocked.Exchange(ref _peakBytes, memory.Peak);
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }
}
