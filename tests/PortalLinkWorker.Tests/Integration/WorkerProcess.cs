using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>The built worker (src/PortalLinkWorker/bin/…/PortalLinkWorker.dll) run as a child process, configured only by
/// environment variables, as an operator runs it; its output is kept for the assertions on logs.</summary>
public static class WorkerProcess
{
    private static readonly TimeSpan CommandPatience = TimeSpan.FromSeconds(120);

    /// <summary>Runs one of the worker's commands to its end; its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        await using var command = Start(settings, args: args);
        var exitCode = await command.WaitForExitAsync(CommandPatience);
        return (exitCode, command.Output);
    }

    public static ChildProcess Start(IReadOnlyDictionary<string, string> settings, string minimumLevel = "Information", string[]? args = null) =>
        ChildProcess.StartDll("worker", RepositoryRoot.WorkerDll, args ?? [], settings.With(WorkerSettings.LogLevel(minimumLevel)));
}
