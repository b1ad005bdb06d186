using System.Diagnostics;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>Debian's Chromium, headless, as a child process: the DOM after the page's scripts ran, and screenshots.
/// <c>PORTALLINK_CHROMIUM</c> names another binary.</summary>
public static class Chromium
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    public static string Binary
    {
        get
        {
            var candidates = new[] { Environment.GetEnvironmentVariable("PORTALLINK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome" };
            foreach (var candidate in candidates.Where(c => !string.IsNullOrEmpty(c)))
            {
                if (Path.IsPathRooted(candidate!) ? File.Exists(candidate) : FindOnPath(candidate!) is not null)
                    return Path.IsPathRooted(candidate!) ? candidate! : FindOnPath(candidate!)!;
            }
            throw new InvalidOperationException(
                "No Chromium found for the status page test: install Debian's package (apt-get install chromium; scripts/services.sh up " +
                "does it) or set PORTALLINK_CHROMIUM to a Chromium binary.");
        }
    }

    /// <summary>The DOM once the page has run <paramref name="virtualTime"/> of its own time (timers, fetches).</summary>
    public static Task<string> DumpDomAsync(Uri url, TimeSpan virtualTime) =>
        RunAsync(["--dump-dom", $"--virtual-time-budget={(int)virtualTime.TotalMilliseconds}", url.ToString()]);

    public static Task<string> ScreenshotAsync(Uri url, string path, TimeSpan virtualTime) =>
        RunAsync([$"--screenshot={path}", "--window-size=1280,1100", "--hide-scrollbars",
            $"--virtual-time-budget={(int)virtualTime.TotalMilliseconds}", url.ToString()]);

    private static async Task<string> RunAsync(string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("portallink-chromium-");
        try
        {
            var start = new ProcessStartInfo(Binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // --no-sandbox: the tests run as root (CI does), where Chromium's sandbox refuses to start.
            foreach (var arg in (string[])["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-extensions", $"--user-data-dir={profile.FullName}", .. args])
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(Patience);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"Chromium did not finish within {Patience.TotalSeconds} s: {await stderr}");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"Chromium exited {process.ExitCode}: {await stderr}");
            return await stdout;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
