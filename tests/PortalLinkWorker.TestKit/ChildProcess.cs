using System.Globalization;
using System.Text;
using CliWrap;

namespace PortalLinkWorker.TestKit;

/// <summary>
/// A process a test or a benchmark starts: the built worker (or one of its commands), the simulator, or a benchmark's
/// own child mode. Started through CliWrap, configured by environment variables as an operator configures it, with its
/// output either kept in memory (for the assertions on logs) or written to a log file by the child itself.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly CommandTask<CommandResult> _run;
    private readonly CancellationTokenSource _kill;
    private readonly StringBuilder? _output;

    private ChildProcess(string name, CommandTask<CommandResult> run, CancellationTokenSource kill, StringBuilder? output,
        string? logPath)
    {
        Name = name;
        _run = run;
        _kill = kill;
        _output = output;
        LogPath = logPath;
    }

    public string Name { get; }

    /// <summary>The process id, for reading its CPU and memory from /proc.</summary>
    public int Pid => _run.ProcessId;

    /// <summary>The file the output goes to, when started with a log directory; otherwise null.</summary>
    public string? LogPath { get; }

    public bool HasExited => _run.Task.IsCompleted;

    /// <summary>Everything printed so far, standard output and standard error interleaved.</summary>
    public string Output
    {
        get
        {
            if (_output is not null)
                lock (_output)
                    return _output.ToString();
            try
            {
                return File.ReadAllText(LogPath!);
            }
            catch (IOException)
            {
                return "";
            }
        }
    }

    public string OutputTail(int lines = 20) => string.Join('\n', Output.Split('\n').TakeLast(lines));

    /// <summary>Starts <paramref name="file"/> with <paramref name="settings"/> (configuration keys such as
    /// <c>Upflow:BaseUrl</c>) as environment variables. Without <paramref name="logDirectory"/> the output is kept in
    /// memory; with one, the child writes it to a file there itself.</summary>
    public static ChildProcess Start(string name, string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? settings = null, string? logDirectory = null)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            environment[WorkerSettings.EnvironmentName(key)] = value;
        var program = file;
        IEnumerable<string> arguments = args;
        StringBuilder? output = null;
        string? logPath = null;
        if (logDirectory is not null)
        {
            // The child writes its own log through the shell's redirection rather than through a pipe we read: a
            // benchmark then spends no CPU of its own copying output while a run is measured, and exec makes the
            // shell become the program, so the pid we measure is the program's own.
            logPath = Path.Combine(logDirectory, $"{name}-{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}"[..40] + ".log");
            environment["CHILD_PROCESS_LOG"] = logPath;
            program = "/bin/sh";
            arguments = ["-c", "exec \"$@\" > \"$CHILD_PROCESS_LOG\" 2>&1", name, file, .. args];
        }
        var command = CliWrap.Cli.Wrap(program)
            .WithArguments(arguments)
            .WithEnvironmentVariables(environment)
            // Anywhere but the program's own folder: it must find its appsettings.json by itself.
            .WithWorkingDirectory(Path.GetTempPath())
            .WithValidation(CommandResultValidation.None);
        if (logDirectory is null)
        {
            output = new StringBuilder();
            var target = PipeTarget.ToDelegate(line =>
            {
                lock (output)
                    output.AppendLine(line);
            });
            command = command.WithStandardOutputPipe(target).WithStandardErrorPipe(target);
        }
        var kill = new CancellationTokenSource();
        var run = command.ExecuteAsync(kill.Token);
        return new ChildProcess(name, run, kill, output, logPath);
    }

    /// <summary>A .NET program of this repository's build (<c>dotnet path/to/Program.dll …</c>).</summary>
    public static ChildProcess StartDll(string name, string dll, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? settings = null, string? logDirectory = null) =>
        Start(name, "dotnet", [dll, .. args], settings, logDirectory);

    /// <summary>This executable again (a benchmark's child mode), as it was started: <c>dotnet x.dll</c> or the apphost.</summary>
    public static ChildProcess StartSelf(string name, string dll, IEnumerable<string> args, string? logDirectory = null)
    {
        var self = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? Start(name, self, [Path.Combine(AppContext.BaseDirectory, dll), .. args], null, logDirectory)
            : Start(name, self, args, null, logDirectory);
    }

    /// <summary>Waits for the exit; its exit code, or null if it still runs after <paramref name="patience"/>.</summary>
    public async Task<int?> TryWaitForExitAsync(TimeSpan patience)
    {
        try
        {
            return (await _run.Task.WaitAsync(patience)).ExitCode;
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            // Killed by us: the exit code of a SIGKILL.
            return 137;
        }
    }

    /// <summary>Waits for the exit and returns its code; a process still running after <paramref name="patience"/> is
    /// killed and the wait fails.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan patience)
    {
        if (await TryWaitForExitAsync(patience) is { } exitCode)
            return exitCode;
        await KillAsync();
        throw new TimeoutException($"{Name} did not exit within {patience.TotalSeconds:0} s.");
    }

    /// <summary>SIGKILL to the process and its children: no shutdown code runs, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (!HasExited)
            await _kill.CancelAsync();
        await TryWaitForExitAsync(Timeout.InfiniteTimeSpan);
    }

    /// <summary>SIGTERM, as a container runtime or systemd stops a service; the exit code, or a failed wait if it takes
    /// longer than <paramref name="patience"/>.</summary>
    public async Task<int> TerminateAsync(TimeSpan patience)
    {
        await SignalTermAsync();
        return await TryWaitForExitAsync(patience)
               ?? throw new TimeoutException($"{Name} did not stop within {patience.TotalSeconds:0} s of SIGTERM.");
    }

    /// <summary>SIGTERM, then SIGKILL if it takes longer than <paramref name="patience"/>.</summary>
    public async Task StopAsync(TimeSpan patience)
    {
        if (HasExited)
            return;
        await SignalTermAsync();
        if (await TryWaitForExitAsync(patience) is null)
            await KillAsync();
    }

    // CliWrap's graceful cancellation sends SIGINT; a service manager sends SIGTERM, and that is the stop under test.
    private async Task SignalTermAsync()
    {
        if (!HasExited)
            await CliWrap.Cli.Wrap("kill").WithArguments(["-TERM", Pid.ToString(CultureInfo.InvariantCulture)])
                .WithValidation(CommandResultValidation.None).ExecuteAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _kill.Dispose();
    }
}
