using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MassTransit;
using Npgsql;
using PortalLinkWorker.TestKit;

namespace ThroughputBench;

/// <summary>
/// What every scenario shares: the Upflow simulator (a child process, 5 ms latency, no rate limit), an observer bus on the
/// bench's own RabbitMQ virtual host that publishes the requests and receives every outcome, plain AMQP (the kit's RawQueue) to
/// clear and inspect queues, and fresh databases (one per run, dropped after it).
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    /// <summary>The worker's queue (GeneratePortalLinkConsumerDefinition.QueueName) and the ones MassTransit adds.</summary>
    public const string WorkerQueue = "generate-portal-link";

    private static readonly string[] BenchQueues =
        [WorkerQueue, WorkerQueue + "_error", WorkerQueue + "_skipped", BareLoop.Queue, "perf-part-rabbit"];

    private readonly BenchSettings _settings;
    private readonly DatabaseFactory _databases;
    private ChildProcess? _simulatorProcess;
    private SimulatorClient? _simulator;
    private ObserverBus? _observer;

    private BenchEnvironment(BenchSettings settings, string repository, string configuration)
    {
        _settings = settings;
        _databases = new DatabaseFactory(settings.Postgres);
        Repository = repository;
        Configuration = configuration;
        LogDirectory = Directory.CreateTempSubdirectory("throughput-bench-").FullName;
    }

    public string Repository { get; }
    public string Configuration { get; }
    public string LogDirectory { get; }
    public string SimulatorUrl { get; private set; } = "";
    public SimulatorClient Simulator => _simulator!;
    public ChildProcess SimulatorProcess => _simulatorProcess!;

    /// <summary>PostgreSQL's <c>max_connections</c>, read at start.</summary>
    public int MaxConnections { get; private set; } = 100;
    public IBus Bus => _observer!.Bus;

    /// <summary>This checkout's worker, or another build (<c>--worker-dll</c>: a "before" to compare with).</summary>
    public string WorkerDll => _settings.WorkerDll ??
                               Path.Combine(Repository, "src", "PortalLinkWorker", "bin", Configuration, "net10.0", "PortalLinkWorker.dll");
    private string SimulatorDll => Path.Combine(Repository, "src", "UpflowSimulator", "bin", Configuration, "net10.0", "UpflowSimulator.dll");

    public static async Task<BenchEnvironment> StartAsync(BenchSettings settings, string repository)
    {
        // bench/ThroughputBench/bin/<Configuration>/net10.0/: the worker and the simulator were built beside, same configuration.
        var configuration = RepositoryRoot.BuildConfiguration;
        var env = new BenchEnvironment(settings, repository, configuration);
        foreach (var dll in new[] { env.WorkerDll, env.SimulatorDll })
            if (!File.Exists(dll))
                throw new FileNotFoundException($"Build first (dotnet build -c {configuration} bench/ThroughputBench): missing", dll);
        await env.ReadMaxConnectionsAsync();
        await env.StartSimulatorAsync();
        env._observer = await ObserverBus.StartAsync(settings.RabbitMq, prefetchCount: 512);
        return env;
    }

    private async Task StartSimulatorAsync()
    {
        SimulatorUrl = $"http://127.0.0.1:{FreePort()}";
        _simulatorProcess = ChildProcess.StartDll("simulator", SimulatorDll, SimulatorHost.Arguments(SimulatorUrl,
            UpflowCall.ApiKey, UpflowCall.ApiSecret,
            $"--Simulator:LatencyMs={_settings.LatencyMs}", "--Simulator:RateLimitPerSecond=0", "--Simulator:MaxConcurrentRequests=0",
            "--Logging:LogLevel:Default=Warning"), null, LogDirectory);
        _simulator = new SimulatorClient(SimulatorUrl);
        await _simulator.WaitUntilUpAsync(TimeSpan.FromSeconds(60), () => _simulatorProcess.HasExited);
    }

    /// <summary>From now on, outcome events are matched against this batch's request ids.</summary>
    public void Track(OutcomeTracker? tracker) => _observer!.Track(tracker);

    /// <summary>Before each run: no queue of an earlier run may still take copies of the requests, no message may be left
    /// over, and the simulator's counters start at zero.</summary>
    public async Task ResetAsync()
    {
        foreach (var queue in BenchQueues)
            await RawQueue.DeleteAsync(_settings.RabbitMq, queue);
        await Simulator.ResetAsync();
    }

    /// <summary>The simulator's answers since the last reset, by HTTP status.</summary>
    public async Task<Dictionary<string, long>> SimulatorCallsByStatusAsync()
    {
        var stats = await Simulator.StatsAsync();
        var result = new Dictionary<string, long>();
        foreach (var property in stats.EnumerateObject())
            if (property.Name.Equals("byStatus", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == System.Text.Json.JsonValueKind.Object)
                foreach (var status in property.Value.EnumerateObject())
                    result[status.Name] = status.Value.GetInt64();
        return result;
    }

    /// <summary>Consumers on a queue, or -1 while it does not exist.</summary>
    public Task<int> ConsumersAsync(string queue) => RawQueue.ConsumersAsync(_settings.RabbitMq, queue);

    public async Task WaitForConsumersAsync(string queue, int count, ChildProcess[] processes, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await ConsumersAsync(queue) < count)
        {
            foreach (var process in processes)
                if (process.HasExited)
                    throw new InvalidOperationException($"{process.Name} exited before consuming:\n{process.OutputTail()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{queue} has no {count} consumer(s) after {timeout.TotalSeconds:0} s:\n" +
                                           string.Join("\n", processes.Select(p => p.OutputTail())));
            await Task.Delay(250);
        }
    }

    /// <summary>A fresh, empty database; with <paramref name="withTable"/> the baselines' copy of portal_links.</summary>
    public async Task<string> CreateDatabaseAsync(bool withTable)
    {
        var connection = await _databases.CreateAsync("perf");
        if (withTable)
        {
            await using var db = new NpgsqlConnection(connection);
            await db.OpenAsync();
            await using var table = new NpgsqlCommand(LinkTable.Create, db);
            await table.ExecuteNonQueryAsync();
        }
        return connection;
    }

    private async Task ReadMaxConnectionsAsync()
    {
        await using var admin = new NpgsqlConnection(_databases.AdminConnection);
        await admin.OpenAsync();
        await using var show = new NpgsqlCommand("SHOW max_connections", admin);
        MaxConnections = int.Parse((string)(await show.ExecuteScalarAsync())!, CultureInfo.InvariantCulture);
    }

    /// <summary>Each worker's Npgsql pool (<c>Maximum Pool Size</c>) when <paramref name="processes"/> share the server:
    /// Npgsql's default of 100, or less so that all of them fit in <c>max_connections</c> with 10 left for the bench
    /// (an in-flight message holds a connection, so two workers at c=128 would otherwise take all 100 of a default
    /// server and the bench's row count is refused with 53300).</summary>
    public int WorkerPoolSize(int processes) => Math.Min(100, (MaxConnections - 10) / processes);

    /// <summary>Rows of portal_links by status.</summary>
    public static async Task<Dictionary<string, long>> RowsByStatusAsync(string connection)
    {
        var rows = new Dictionary<string, long>();
        await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connection) { Pooling = false }.ConnectionString);
        await db.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT status, count(*) FROM portal_links GROUP BY status", db);
        await using var reader = await count.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows[reader.GetString(0)] = reader.GetInt64(1);
        return rows;
    }

    public Task DropDatabaseAsync(string connection) => _databases.DropAsync(connection);

    /// <summary>A worker process as an operator runs it: its own build output and appsettings.json, settings from
    /// environment variables, the shipped log configuration unless <c>--worker-log-level</c> says otherwise.</summary>
    public ChildProcess StartWorker(string name, string database, WorkerConfig config, int processes)
    {
        var settings = WorkerSettings.For(
                new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = WorkerPoolSize(processes) }.ConnectionString,
                _settings.RabbitMq, SimulatorUrl, UpflowCall.ApiKey, UpflowCall.ApiSecret, maxRequestsPerSecond: 0)
            .With(new Dictionary<string, string>
            {
                ["Upflow:MaxConcurrentRequests"] = I(config.MaxConcurrentRequests),
                ["Consumer:ConcurrentMessageLimit"] = I(config.ConcurrentMessageLimit),
                ["Consumer:PrefetchCount"] = I(config.PrefetchCount),
                // Health, metrics and the status page on a free port each: two workers side by side never share 8080.
                ["Urls"] = "http://127.0.0.1:0",
            });
        if (!_settings.WorkerLogLevel.Equals("Information", StringComparison.OrdinalIgnoreCase))
            settings["Serilog:MinimumLevel:Default"] = _settings.WorkerLogLevel;
        // --worker-env names environment variables (Upflow__X); as configuration keys they meet the ones above.
        foreach (var (key, value) in _settings.WorkerEnvironment)
            settings[key.Replace("__", ":", StringComparison.Ordinal)] = value;
        return ChildProcess.StartDll(name, WorkerDll, [], settings, LogDirectory);
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_observer is not null)
            await _observer.DisposeAsync();
        if (_simulatorProcess is not null)
            await _simulatorProcess.DisposeAsync();
        _simulator?.Dispose();
    }
}
