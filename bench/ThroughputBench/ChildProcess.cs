using System.Diagnostics;

namespace ThroughputBench;

/// <summary>A process the bench starts and measures: the worker, the simulator, or one of this executable's own modes
/// (bare loop, naive loop, part ceilings). Its output goes to a log file, not to a pipe, so that the bench spends no
/// CPU reading it while a run is measured and the file is there to read when something went wrong.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ChildProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
    }

    public string Name { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string name, string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment, string logDirectory)
    {
        var logPath = Path.Combine(logDirectory, $"{name}-{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}"[..40] + ".log");
        // exec: the shell becomes the program, so the pid we measure is the program's own.
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$@\" > \"$BENCH_CHILD_LOG\" 2>&1");
        start.ArgumentList.Add(name);
        start.ArgumentList.Add(file);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["BENCH_CHILD_LOG"] = logPath;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}");
        return new ChildProcess(name, process, logPath);
    }

    /// <summary>This executable again, in one of its child modes.</summary>
    public static ChildProcess StartSelf(string name, IEnumerable<string> args, string logDirectory)
    {
        var self = Environment.ProcessPath!;
        var dll = Path.Combine(AppContext.BaseDirectory, "ThroughputBench.dll");
        return Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? Start(name, self, [dll, .. args], null, logDirectory)
            : Start(name, self, args, null, logDirectory);
    }

    public string Log()
    {
        try
        {
            return File.ReadAllText(LogPath);
        }
        catch (IOException)
        {
            return "";
        }
    }

    public string LogTail(int lines = 20) => string.Join('\n', Log().Split('\n').TakeLast(lines));

    public async Task<int> WaitForExitAsync(TimeSpan patience)
    {
        using var limit = new CancellationTokenSource(patience);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            return -1;
        }
    }

    /// <summary>SIGTERM (a graceful stop, as an orchestrator does), then SIGKILL if it takes longer than
    /// <paramref name="patience"/>.</summary>
    public async Task StopAsync(TimeSpan patience)
    {
        if (_process.HasExited)
            return;
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        await WaitForExitAsync(patience);
    }

    public async Task KillAsync()
    {
        if (_process.HasExited)
            return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
