using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.TestKit;
using PortalLinkWorker.Messaging;

namespace RateLimitBench;

/// <summary>
/// What the scenarios share: the Upflow simulator (in this process, over HTTP), an observer bus on the benchmark's own
/// RabbitMQ virtual host that publishes requests and sees every outcome, and the means to create a fresh database and
/// start worker hosts wired exactly as in production (the same public calls as the integration tests).
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    public const string ApiKey = "bench-key";
    public const string ApiSecret = "bench-secret-7d21e4";

    private readonly BenchSettings _settings;
    private readonly DatabaseFactory _databases;
    private SimulatorHost? _simulator;
    private ObserverBus? _observer;

    private BenchEnvironment(BenchSettings settings)
    {
        _settings = settings;
        _databases = new DatabaseFactory(settings.Postgres);
    }

    public SimulatorClient Simulator => _simulator!.Client;
    public string SimulatorUrl => _simulator!.Url;
    public IBus Bus => _observer!.Bus;

    public static async Task<BenchEnvironment> StartAsync(BenchSettings settings)
    {
        var env = new BenchEnvironment(settings);
        env._simulator = await SimulatorHost.StartAsync(ApiKey, ApiSecret, "--Logging:LogLevel:Default=Warning");
        env._observer = await ObserverBus.StartAsync(settings.RabbitMq, prefetchCount: 256);
        return env;
    }

    /// <summary>From now on, outcome events are matched against this scenario's request ids.</summary>
    public void Track(OutcomeTracker tracker) => _observer!.Track(tracker);

    public Task<string> CreateDatabaseAsync(string scenario) => _databases.CreateAsync($"portallink_simbench_{scenario}");

    /// <summary>A worker host as in production, configured through the same keys an operator would set; every setting the
    /// bench does not name here keeps its options class's default.</summary>
    public IHost BuildWorker(string database, double maxRequestsPerSecond)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder([]);
        var settings = WorkerSettings.For(database, _settings.RabbitMq, SimulatorUrl, ApiKey, ApiSecret, maxRequestsPerSecond)
            .With(new Dictionary<string, string>
            {
                // Warnings (429 episodes, outage pauses) stay visible; per-message information logs would drown the output.
                // The bench's output folder holds the simulator's appsettings.json (both projects ship one; the simulator's
                // wins), so the worker has no Serilog sink configured: add the console, warnings and up.
                ["Serilog:Using:0"] = "Serilog.Sinks.Console",
                ["Serilog:WriteTo:0:Name"] = "Console",
                ["Serilog:WriteTo:0:Args:outputTemplate"] = "[{Timestamp:HH:mm:ss.fff} {Level:u3} worker] {Message:lj}{NewLine}{Exception}",
                ["Serilog:MinimumLevel:Default"] = "Warning",
                ["Serilog:MinimumLevel:Override:MassTransit"] = "Warning",
                ["Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime"] = "Warning",
                ["Serilog:MinimumLevel:Override:System.Net.Http.HttpClient"] = "Warning",
                ["Serilog:MinimumLevel:Override:Polly"] = "Error",
            });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        builder.AddPortalLinkWorker();
        return builder.Build();
    }

    /// <summary>The most calls the simulator had open at once since the last reset, from every replica.</summary>
    public async Task<int> PeakInFlightAsync() => (await Simulator.StatsAsync()).GetProperty("peakInFlight").GetInt32();

    /// <summary>The campaign lane's queue, where campaign items are sent (not published).</summary>
    public Task<ISendEndpoint> BulkQueueAsync() =>
        Bus.GetSendEndpoint(new Uri($"queue:{PortalLinkWorker.Links.GeneratePortalLinkBulkConsumerDefinition.QueueName}"));

    /// <summary>Drops the databases this run created (unless --keep-databases).</summary>
    public async Task DropDatabasesAsync()
    {
        if (_settings.KeepDatabases)
            return;
        foreach (var problem in await _databases.DropAllAsync())
            Console.Error.WriteLine(problem);
    }

    public async ValueTask DisposeAsync()
    {
        if (_observer is not null)
            await _observer.DisposeAsync();
        if (_simulator is not null)
            await _simulator.DisposeAsync();
    }
}
