using System.Net.Http.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Npgsql;
using PortalLinkContracts;
using PortalLinkWorker.Hosting;
using UpflowSimulator;
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
    private WebApplication? _simulator;
    private IBusControl? _observer;
    private volatile OutcomeTracker? _tracker;
    private readonly List<string> _databases = [];

    private BenchEnvironment(BenchSettings settings) => _settings = settings;

    public HttpClient Simulator { get; private set; } = null!;
    public string SimulatorUrl { get; private set; } = "";
    public IBus Bus => _observer!;

    public static async Task<BenchEnvironment> StartAsync(BenchSettings settings)
    {
        var env = new BenchEnvironment(settings);
        env._simulator = UpflowSimulatorApp.Build([
            "--urls", "http://127.0.0.1:0",
            $"--Simulator:ApiKey={ApiKey}", $"--Simulator:ApiSecret={ApiSecret}", "--Simulator:AdminEndpoints=true",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await env._simulator.StartAsync();
        env.SimulatorUrl = env._simulator.Urls.First();
        env.Simulator = new HttpClient { BaseAddress = new Uri(env.SimulatorUrl) };

        var rabbit = RabbitMqAddress.TryParse(settings.RabbitMq)
                     ?? throw new InvalidOperationException($"Not an AMQP URI: {settings.RabbitMq}");
        env._observer = MassTransit.Bus.Factory.CreateUsingRabbitMq(bus =>
        {
            rabbit.ApplyTo(bus);
            bus.ReceiveEndpoint(new TemporaryEndpointDefinition(), endpoint =>
            {
                endpoint.PrefetchCount = 256;
                endpoint.Handler<PortalLinkGenerated>(c =>
                {
                    env._tracker?.Record(c.Message.RequestId, OutcomeKind.Generated);
                    return Task.CompletedTask;
                });
                endpoint.Handler<PortalLinkFailed>(c =>
                {
                    env._tracker?.Record(c.Message.RequestId, OutcomeKind.Failed, $"{c.Message.Reason}: {c.Message.Message}");
                    return Task.CompletedTask;
                });
                endpoint.Handler<Fault<GeneratePortalLink>>(c =>
                {
                    env._tracker?.Record(c.Message.Message.RequestId, OutcomeKind.Faulted,
                        string.Join("; ", c.Message.Exceptions.Select(e => $"{e.ExceptionType}: {e.Message}")));
                    return Task.CompletedTask;
                });
            });
        });
        await env._observer.StartAsync();
        return env;
    }

    /// <summary>From now on, outcome events are matched against this scenario's request ids.</summary>
    public void Track(OutcomeTracker tracker) => _tracker = tracker;

    public async Task<string> CreateDatabaseAsync(string scenario)
    {
        var tag = new string([.. scenario.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);
        var name = $"portallink_simbench_{tag}_{Guid.NewGuid():N}"[..48];
        await using (var admin = new NpgsqlConnection(AdminConnection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(_settings.Postgres) { Database = name }.ConnectionString;
    }

    /// <summary>Unpooled: a pooled admin connection may have been closed by the server since (a restart between scenarios).</summary>
    private string AdminConnection => new NpgsqlConnectionStringBuilder(_settings.Postgres) { Pooling = false }.ConnectionString;

    /// <summary>A worker host as in production, configured through the same keys an operator would set; every setting the
    /// bench does not name here keeps its options class's default.</summary>
    public IHost BuildWorker(string database, double maxRequestsPerSecond)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database,
            ["ConnectionStrings:RabbitMq"] = _settings.RabbitMq,
            ["Upflow:BaseUrl"] = $"{SimulatorUrl}/v1",
            ["Upflow:ApiKey"] = ApiKey,
            ["Upflow:ApiSecret"] = ApiSecret,
            ["Upflow:PortalHosts"] = "portal.upflow-simulator.invalid",
            ["Upflow:MaxRequestsPerSecond"] = maxRequestsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Warnings (429 episodes, outage pauses) stay visible; per-message information logs would drown the output.
            // The bench's output folder holds the simulator's appsettings.json (both projects ship one; the simulator's wins),
            // so the worker has no Serilog sink configured: add the console, warnings and up.
            ["Serilog:Using:0"] = "Serilog.Sinks.Console",
            ["Serilog:WriteTo:0:Name"] = "Console",
            ["Serilog:WriteTo:0:Args:outputTemplate"] = "[{Timestamp:HH:mm:ss.fff} {Level:u3} worker] {Message:lj}{NewLine}{Exception}",
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Serilog:MinimumLevel:Override:MassTransit"] = "Warning",
            ["Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime"] = "Warning",
            ["Serilog:MinimumLevel:Override:System.Net.Http.HttpClient"] = "Warning",
            ["Serilog:MinimumLevel:Override:Polly"] = "Error",
        });
        builder.AddPortalLinkWorker();
        return builder.Build();
    }

    public async Task ConfigureSimulatorAsync(object changes) =>
        (await Simulator.PutAsJsonAsync("/_simulator/config", changes)).EnsureSuccessStatusCode();

    public async Task ResetSimulatorAsync() =>
        (await Simulator.PostAsync("/_simulator/reset", null)).EnsureSuccessStatusCode();

    public async Task<IReadOnlyList<CallRecord>> CallsAsync() =>
        (await Simulator.GetFromJsonAsync<List<CallRecord>>("/_simulator/calls"))!;

    /// <summary>The most calls the simulator had open at once since the last reset, from every replica.</summary>
    public async Task<int> PeakInFlightAsync()
    {
        using var stats = System.Text.Json.JsonDocument.Parse(await Simulator.GetStringAsync("/_simulator/stats"));
        return stats.RootElement.GetProperty("peakInFlight").GetInt32();
    }

    /// <summary>The campaign lane's queue, where campaign items are sent (not published).</summary>
    public Task<ISendEndpoint> BulkQueueAsync() =>
        _observer!.GetSendEndpoint(new Uri($"queue:{PortalLinkWorker.Links.GeneratePortalLinkBulkConsumerDefinition.QueueName}"));

    /// <summary>Drops the databases this run created (unless --keep-databases).</summary>
    public async Task DropDatabasesAsync()
    {
        if (_settings.KeepDatabases)
            return;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnection);
        await admin.OpenAsync();
        foreach (var name in _databases)
        {
            try
            {
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
                await drop.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException e)
            {
                Console.Error.WriteLine($"Could not drop database {name}: {e.Message}");
            }
        }
        _databases.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (_observer is not null)
            await _observer.StopAsync();
        if (_simulator is not null)
            await _simulator.DisposeAsync();
        Simulator?.Dispose();
    }
}
