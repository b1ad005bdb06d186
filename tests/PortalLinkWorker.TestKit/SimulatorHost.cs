using Microsoft.AspNetCore.Builder;
using UpflowSimulator;

namespace PortalLinkWorker.TestKit;

/// <summary>The Upflow simulator run in this process on a free port, with its admin endpoints on.</summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SimulatorHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
        Client = new SimulatorClient(url);
    }

    public string Url { get; }
    public SimulatorClient Client { get; }

    /// <summary>The simulator's arguments, for this process or a child one: where it listens, the credentials it
    /// accepts, its admin endpoints, and <paramref name="extra"/> (<c>--Simulator:LatencyMs=5</c>, log levels, …).</summary>
    public static string[] Arguments(string url, string apiKey, string apiSecret, params string[] extra) =>
        ["--urls", url, $"--Simulator:ApiKey={apiKey}", $"--Simulator:ApiSecret={apiSecret}", "--Simulator:AdminEndpoints=true", .. extra];

    public static async Task<SimulatorHost> StartAsync(string apiKey, string apiSecret, params string[] extra)
    {
        var app = UpflowSimulatorApp.Build(Arguments("http://127.0.0.1:0", apiKey, apiSecret, extra));
        await app.StartAsync();
        return new SimulatorHost(app, app.Urls.First());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Client.Dispose();
    }
}
