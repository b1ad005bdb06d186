using System.Diagnostics;
using System.Text;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>The built worker (src/PortalLinkWorker/bin/…/PortalLinkWorker.dll) run as a child process, configured only by
/// environment variables, as an operator runs it; its output is kept for the assertions on logs.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private WorkerProcess(Process process, StringBuilder output)
    {
        _process = process;
        _output = output;
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public static string WorkerDll
    {
        get
        {
            // The tests run from tests/PortalLinkWorker.Tests/bin/<Configuration>/net10.0/; the worker was built beside.
            var testDir = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = testDir.Parent!.Name;
            var root = testDir;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "PortalLinkWorker.sln")))
                root = root.Parent;
            var dll = Path.Combine(root?.FullName ?? "", "src", "PortalLinkWorker", "bin", configuration, "net10.0", "PortalLinkWorker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the solution first: the worker DLL is missing.", dll);
        }
    }

    /// <summary>Runs one of the worker's commands to its end; its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        await using var command = Start(settings, args: args);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await command._process.WaitForExitAsync(limit.Token);
        return (command._process.ExitCode, command.Output);
    }

    public static WorkerProcess Start(IReadOnlyDictionary<string, string> settings, string minimumLevel = "Information", string[]? args = null)
    {
        var start = new ProcessStartInfo("dotnet", [WorkerDll, .. args ?? []])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Anywhere but the worker's own folder: it must find its appsettings.json by itself.
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var (key, value) in settings)
            start.Environment[key.Replace(":", "__")] = value;
        start.Environment["Serilog__MinimumLevel__Default"] = minimumLevel;
        start.Environment["Serilog__MinimumLevel__Override__Microsoft"] = minimumLevel;
        start.Environment["Serilog__MinimumLevel__Override__MassTransit"] = minimumLevel;
        start.Environment["Serilog__MinimumLevel__Override__Microsoft.EntityFrameworkCore"] = minimumLevel;
        start.Environment["Serilog__MinimumLevel__Override__Polly"] = minimumLevel;

        var output = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process, output);
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
            return;
        lock (output)
            output.AppendLine(line);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The process id, for reading its memory from /proc.</summary>
    public int Id => _process.Id;

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a container runtime or systemd stops a service; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan patience)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]))
            await kill.WaitForExitAsync();
        using var limit = new CancellationTokenSource(patience);
        await _process.WaitForExitAsync(limit.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            await KillAsync();
        _process.Dispose();
    }
}
