using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MassTransit;
using Npgsql;
using PortalLinkContracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace ThroughputBench;

/// <summary>
/// What every scenario shares: the Upflow simulator (a child process, 5 ms latency, no rate limit), an observer bus on the
/// bench's own RabbitMQ virtual host that publishes the requests and receives every outcome, a plain AMQP connection to
/// clear and inspect queues, and fresh databases (one per run, dropped after it).
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    /// <summary>The worker's queue (GeneratePortalLinkConsumerDefinition.QueueName) and the ones MassTransit adds.</summary>
    public const string WorkerQueue = "generate-portal-link";

    private static readonly string[] BenchQueues =
        [WorkerQueue, WorkerQueue + "_error", WorkerQueue + "_skipped", BareLoop.Queue, "perf-part-rabbit"];

    private readonly BenchSettings _settings;
    private ChildProcess? _simulatorProcess;
    private IBusControl? _observer;
    private IConnection? _amqp;
    private volatile OutcomeTracker? _tracker;

    private BenchEnvironment(BenchSettings settings, string repository, string configuration)
    {
        _settings = settings;
        Repository = repository;
        Configuration = configuration;
        LogDirectory = Directory.CreateTempSubdirectory("throughput-bench-").FullName;
    }

    public string Repository { get; }
    public string Configuration { get; }
    public string LogDirectory { get; }
    public string SimulatorUrl { get; private set; } = "";
    public HttpClient Simulator { get; } = new();
    public ChildProcess SimulatorProcess => _simulatorProcess!;

    /// <summary>PostgreSQL's <c>max_connections</c>, read at start.</summary>
    public int MaxConnections { get; private set; } = 100;
    public IBus Bus => _observer!;

    /// <summary>This checkout's worker, or another build (<c>--worker-dll</c>: a "before" to compare with).</summary>
    public string WorkerDll => _settings.WorkerDll ??
                               Path.Combine(Repository, "src", "PortalLinkWorker", "bin", Configuration, "net10.0", "PortalLinkWorker.dll");
    private string SimulatorDll => Path.Combine(Repository, "src", "UpflowSimulator", "bin", Configuration, "net10.0", "UpflowSimulator.dll");

    public static async Task<BenchEnvironment> StartAsync(BenchSettings settings, string repository)
    {
        // bench/ThroughputBench/bin/<Configuration>/net10.0/: the worker and the simulator were built beside, same configuration.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var env = new BenchEnvironment(settings, repository, configuration);
        foreach (var dll in new[] { env.WorkerDll, env.SimulatorDll })
            if (!File.Exists(dll))
                throw new FileNotFoundException($"Build first (dotnet build -c {configuration} bench/ThroughputBench): missing", dll);
        await env.ReadMaxConnectionsAsync();
        await env.StartSimulatorAsync();
        await env.StartObserverAsync();
        env._amqp = await new ConnectionFactory { Uri = new Uri(settings.RabbitMq) }.CreateConnectionAsync("perf-bench-admin");
        return env;
    }

    private async Task StartSimulatorAsync()
    {
        var port = FreePort();
        SimulatorUrl = $"http://127.0.0.1:{port}";
        _simulatorProcess = ChildProcess.Start("simulator", "dotnet",
        [
            SimulatorDll, "--urls", SimulatorUrl,
            $"--Simulator:ApiKey={UpflowCall.ApiKey}", $"--Simulator:ApiSecret={UpflowCall.ApiSecret}", "--Simulator:AdminEndpoints=true",
            $"--Simulator:LatencyMs={_settings.LatencyMs}", "--Simulator:RateLimitPerSecond=0", "--Simulator:MaxConcurrentRequests=0",
            "--Logging:LogLevel:Default=Warning",
        ], null, LogDirectory);
        Simulator.BaseAddress = new Uri(SimulatorUrl);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                (await Simulator.GetAsync("/_simulator/stats")).EnsureSuccessStatusCode();
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !_simulatorProcess.HasExited)
            {
                await Task.Delay(200);
            }
        }
    }

    private async Task StartObserverAsync()
    {
        var uri = new Uri(_settings.RabbitMq);
        var user = uri.UserInfo.Split(':', 2);
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        _observer = MassTransit.Bus.Factory.CreateUsingRabbitMq(bus =>
        {
            bus.Host(uri.Host, (ushort)(uri.IsDefaultPort || uri.Port < 0 ? 5672 : uri.Port), vhost.Length == 0 ? "/" : vhost, h =>
            {
                h.Username(user.Length > 0 && user[0].Length > 0 ? Uri.UnescapeDataString(user[0]) : "guest");
                h.Password(user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "guest");
            });
            bus.ReceiveEndpoint(new TemporaryEndpointDefinition(), endpoint =>
            {
                endpoint.PrefetchCount = 512;
                endpoint.Handler<PortalLinkGenerated>(c =>
                {
                    _tracker?.Record(c.Message.RequestId, OutcomeKind.Generated);
                    return Task.CompletedTask;
                });
                endpoint.Handler<PortalLinkFailed>(c =>
                {
                    _tracker?.Record(c.Message.RequestId, OutcomeKind.Failed, $"{c.Message.Reason}: {c.Message.Message}");
                    return Task.CompletedTask;
                });
                endpoint.Handler<Fault<GeneratePortalLink>>(c =>
                {
                    _tracker?.Record(c.Message.Message.RequestId, OutcomeKind.Faulted,
                        string.Join("; ", c.Message.Exceptions.Select(e => $"{e.ExceptionType}: {e.Message}")));
                    return Task.CompletedTask;
                });
            });
        });
        await _observer.StartAsync();
    }

    /// <summary>From now on, outcome events are matched against this batch's request ids.</summary>
    public void Track(OutcomeTracker? tracker) => _tracker = tracker;

    /// <summary>Before each run: no queue of an earlier run may still take copies of the requests, no message may be left
    /// over, and the simulator's counters start at zero.</summary>
    public async Task ResetAsync()
    {
        foreach (var queue in BenchQueues)
        {
            await using var channel = await _amqp!.CreateChannelAsync();
            try
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            }
            catch (OperationInterruptedException)
            {
                // Not there: nothing to clear.
            }
        }
        await ResetSimulatorAsync();
    }

    public async Task ResetSimulatorAsync() => (await Simulator.PostAsync("/_simulator/reset", null)).EnsureSuccessStatusCode();

    /// <summary>The simulator's answers since the last reset, by HTTP status.</summary>
    public async Task<Dictionary<string, long>> SimulatorCallsByStatusAsync()
    {
        using var stats = System.Text.Json.JsonDocument.Parse(await Simulator.GetStringAsync("/_simulator/stats"));
        var result = new Dictionary<string, long>();
        foreach (var property in stats.RootElement.EnumerateObject())
            if (property.Name.Equals("byStatus", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == System.Text.Json.JsonValueKind.Object)
                foreach (var status in property.Value.EnumerateObject())
                    result[status.Name] = status.Value.GetInt64();
        return result;
    }

    /// <summary>Consumers on a queue, or -1 while it does not exist.</summary>
    public async Task<int> ConsumersAsync(string queue)
    {
        await using var channel = await _amqp!.CreateChannelAsync();
        try
        {
            return (int)(await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount;
        }
        catch (OperationInterruptedException)
        {
            return -1;
        }
    }

    public async Task WaitForConsumersAsync(string queue, int count, ChildProcess[] processes, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await ConsumersAsync(queue) < count)
        {
            foreach (var process in processes)
                if (process.HasExited)
                    throw new InvalidOperationException($"{process.Name} exited before consuming:\n{process.LogTail()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{queue} has no {count} consumer(s) after {timeout.TotalSeconds:0} s:\n" +
                                           string.Join("\n", processes.Select(p => p.LogTail())));
            await Task.Delay(250);
        }
    }

    /// <summary>A fresh, empty database; with <paramref name="withTable"/> the baselines' copy of portal_links.</summary>
    public async Task<string> CreateDatabaseAsync(bool withTable)
    {
        var name = $"perf_{Guid.NewGuid():N}"[..30];
        await using (var admin = new NpgsqlConnection(AdminConnection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        var connection = new NpgsqlConnectionStringBuilder(_settings.Postgres) { Database = name }.ConnectionString;
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
        await using var admin = new NpgsqlConnection(AdminConnection);
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

    public async Task DropDatabaseAsync(string connection)
    {
        var name = new NpgsqlConnectionStringBuilder(connection).Database;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnection);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    /// <summary>Unpooled, so that no idle connection of ours keeps a database from being dropped.</summary>
    private string AdminConnection => new NpgsqlConnectionStringBuilder(_settings.Postgres) { Pooling = false }.ConnectionString;

    /// <summary>A worker process as an operator runs it: its own build output and appsettings.json, settings from
    /// environment variables, the shipped log configuration unless <c>--worker-log-level</c> says otherwise.</summary>
    public ChildProcess StartWorker(string name, string database, WorkerConfig config, int processes)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] =
                new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = WorkerPoolSize(processes) }.ConnectionString,
            ["ConnectionStrings__RabbitMq"] = _settings.RabbitMq,
            ["Upflow__BaseUrl"] = $"{SimulatorUrl}/v1",
            ["Upflow__ApiKey"] = UpflowCall.ApiKey,
            ["Upflow__ApiSecret"] = UpflowCall.ApiSecret,
            ["Upflow__PortalHosts"] = "portal.upflow-simulator.invalid",
            // The simulator has no rate limit: 0 turns the worker's budget off.
            ["Upflow__MaxRequestsPerSecond"] = "0",
            ["Upflow__MaxConcurrentRequests"] = I(config.MaxConcurrentRequests),
            ["Consumer__ConcurrentMessageLimit"] = I(config.ConcurrentMessageLimit),
            ["Consumer__PrefetchCount"] = I(config.PrefetchCount),
            // Health, metrics and the status page on a free port each: two workers side by side never share 8080.
            ["Urls"] = "http://127.0.0.1:0",
        };
        if (!_settings.WorkerLogLevel.Equals("Information", StringComparison.OrdinalIgnoreCase))
            environment["Serilog__MinimumLevel__Default"] = _settings.WorkerLogLevel;
        foreach (var (key, value) in _settings.WorkerEnvironment)
            environment[key] = value;
        return ChildProcess.Start(name, "dotnet", [WorkerDll], environment, LogDirectory);
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
            await _observer.StopAsync();
        if (_amqp is not null)
            await _amqp.DisposeAsync();
        if (_simulatorProcess is not null)
            await _simulatorProcess.DisposeAsync();
        Simulator.Dispose();
    }
}
