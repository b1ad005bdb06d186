using System.Globalization;
using System.Text.RegularExpressions;
using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary><c>/metrics</c> (Prometheus text) shows the worker's counters moving during a run: scraped before and after.
/// The built worker runs as a child process, as in production: one host per process (MassTransit keeps its meter for the
/// process, so a second in-process host of the same test run would not show MassTransit's instruments).</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class MetricsEndpointTests(WorkerFixture fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Scrape_CountersMoveWithARun(bool libraryMetrics)
    {
        await fixture.Worker.StopAsync();
        try
        {
            await ScrapeAroundARunAsync(libraryMetrics);
        }
        finally
        {
            await fixture.Worker.StartAsync();
        }
    }

    private async Task ScrapeAroundARunAsync(bool libraryMetrics)
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        var settings = new Dictionary<string, string>(fixture.Worker.Settings) { ["Urls"] = url };
        if (libraryMetrics)
            settings["Telemetry__LibraryMetrics"] = "true";
        await using var worker = WorkerProcess.Start(settings);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        await Eventually.TrueAsync(async () =>
        {
            Assert.False(worker.HasExited, worker.Output);
            try
            {
                return (await http.GetAsync("/health/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
        var before = Parse(await http.GetStringAsync("/metrics"));

        var generated = Enumerable.Range(0, 4).Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:metrics-{i}", 600)).ToList();
        var unknown = new GeneratePortalLink(Guid.NewGuid(), "external:unknown-metrics", 600);
        foreach (var request in generated.Append(unknown))
            await fixture.Observer.Bus.Publish(request);
        await fixture.Observer.ExpectGeneratedAsync(generated);
        await fixture.Observer.OutcomeAsync<PortalLinkFailed>(unknown.RequestId);

        // A counter is added to just after the commit, an instant before the event that the test waited for.
        var after = before;
        double Moved(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                after = Parse(await http.GetStringAsync("/metrics"));
                return Moved("portallink_links_generated_total{campaign=\"false\"}") >= generated.Count;
            }, TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail(Describe(before, after));
        }

        Assert.True(Moved("portallink_links_failed_total{campaign=\"false\",reason=\"CustomerNotFound\"}") >= 1, Describe(before, after));
        Assert.True(Moved("portallink_upflow_call_duration_seconds_count{status=\"200\"}") >= generated.Count, Describe(before, after));
        Assert.True(Moved("portallink_upflow_call_duration_seconds_count{status=\"404\"}") >= 1, Describe(before, after));
        // MassTransit's, HttpClient's and Npgsql's own instruments only when asked for (Telemetry:LibraryMetrics).
        string[] libraries = ["messaging_masstransit_consume_", "http_client_request_duration_seconds_count", "db_client_"];
        foreach (var prefix in libraries)
            Assert.Equal(libraryMetrics, after.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Contains(after.Keys, k => k.StartsWith("process_runtime_dotnet_gc_", StringComparison.Ordinal) || k.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.Contains(after.Keys, k => k.StartsWith("portallink_upflow_paused{", StringComparison.Ordinal));
        Assert.Contains(after.Keys, k => k.StartsWith("portallink_upflow_effective_rate", StringComparison.Ordinal));
        Assert.Contains(after.Keys, k => k.StartsWith("portallink_campaigns_running", StringComparison.Ordinal));
        Assert.Contains(after.Keys, k => k.StartsWith("portallink_campaign_items{state=\"pending\"}", StringComparison.Ordinal));
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Series name with its labels (the exporter's otel_scope_* labels dropped) → value.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var match = Line().Match(line);
            if (!match.Success)
                continue;
            var labels = match.Groups["labels"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.StartsWith("otel_scope_", StringComparison.Ordinal)).ToList();
            var key = labels.Count == 0 ? match.Groups["name"].Value : $"{match.Groups["name"].Value}{{{string.Join(",", labels)}}}";
            series[key] = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return series;
    }

    private static string Describe(Dictionary<string, double> before, Dictionary<string, double> after) =>
        "portallink series after the run:\n" + string.Join("\n", after.Where(kv => kv.Key.StartsWith("portallink_", StringComparison.Ordinal) && !kv.Key.Contains("_bucket"))
            .Select(kv => $"{kv.Key} {before.GetValueOrDefault(kv.Key)} → {kv.Value}"));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ ]+)")]
    private static partial Regex Line();
}
