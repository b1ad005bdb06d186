using System.Diagnostics;
using System.Text;

namespace CampaignBench;

/// <summary>The built worker DLL run as a child process (the worker, or one of its commands), configured by environment
/// variables, with its peak resident memory (VmHWM) sampled from /proc while it runs.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakKb;

    private ChildProcess(Process process)
    {
        _process = process;
        _sampling = Task.Run(SampleAsync);
    }

    public static ChildProcess Start(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> settings)
    {
        var start = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var (key, value) in settings)
            start.Environment[key.Replace(":", "__")] = value;
        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Peak resident set size seen so far, in MiB (the kernel's own high-water mark, VmHWM).</summary>
    public double PeakMiB => Interlocked.Read(ref _peakKb) / 1024.0;

    public async Task<int> WaitForExitAsync(TimeSpan patience)
    {
        using var limit = new CancellationTokenSource(patience);
        await _process.WaitForExitAsync(limit.Token);
        return _process.ExitCode;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (_process.HasExited)
                    return;
                foreach (var line in await File.ReadAllLinesAsync($"/proc/{_process.Id}/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal) &&
                        long.TryParse(line[6..].Trim().Split(' ')[0], out var kb) && kb > Interlocked.Read(ref _peakKb))
                        Interlocked.Exchange(ref _peakKb, kb);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // Not started yet, or gone.
            }
            try
            {
                await Task.Delay(20, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        await _stop.CancelAsync();
        await _sampling;
        _process.Dispose();
    }
}
