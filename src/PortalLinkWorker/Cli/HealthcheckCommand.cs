using System.CommandLine;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker healthcheck [--url …]</c>: asks the running worker's <c>/health/ready</c>, for container
/// health checks in images without curl. Exit 0 when ready (HTTP 200, Healthy or Degraded), 1 otherwise.</summary>
public static class HealthcheckCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static Command Create(CommandContext context)
    {
        var url = new Option<string>("--url")
        {
            Description = "the readiness URL (default: the worker's own address from ASPNETCORE_URLS / Urls / ASPNETCORE_HTTP_PORTS, port 8080)",
            HelpName = "url",
        };
        var command = new Command("healthcheck", """
            GET the running worker's /health/ready (default http://127.0.0.1:8080); exit 0 when ready, 1 otherwise
            (for container health checks)
            """) { url };
        command.SetAction((result, _) => RunAsync(result.GetValue(url) ?? DefaultUrl(), context.Output));
        return command;
    }

    private static async Task<int> RunAsync(string url, TextWriter output)
    {
        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            await output.WriteLineAsync($"{(int)response.StatusCode} {body}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"{url}: {e.Message}");
            return 1;
        }
    }

    /// <summary>Where the worker listens, read as it reads it: the first of <c>ASPNETCORE_URLS</c> / <c>Urls</c> (a wildcard
    /// host becomes the loopback), else <c>ASPNETCORE_HTTP_PORTS</c> (8080 in Microsoft's images), else 8080.</summary>
    private static string DefaultUrl()
    {
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS") ?? Environment.GetEnvironmentVariable("Urls");
        var first = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is not null)
        {
            var wildcard = first.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1")
                .Replace("://[::]", "://127.0.0.1");
            return wildcard.TrimEnd('/') + "/health/ready";
        }
        var port = (Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS") ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault() ?? "8080";
        return $"http://127.0.0.1:{port.Trim()}/health/ready";
    }
}
