using System.Collections.Concurrent;
using System.Net.Http.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using PortalLinkContracts;
using PortalLinkWorker.Hosting;
using UpflowSimulator;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>
/// A running worker (in this process, wired exactly as in production) against real RabbitMQ and PostgreSQL and the
/// Upflow simulator over HTTP, plus an observer bus that publishes requests and collects every outcome event.
/// </summary>
public sealed class WorkerFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    public const string ApiSecret = "test-secret-3f9c1a";
    public const int MaxRetryAttempts = 3;

    /// <summary>Where the simulator's portal links are (<c>Upflow:PortalHosts</c>).</summary>
    public const string SimulatorPortalHost = "portal.upflow-simulator.invalid";
    private static readonly TimeSpan OutcomeWait = TimeSpan.FromSeconds(60);

    private WebApplication? _simulator;
    private WebApplication? _worker;
    private IBusControl? _observer;
    private string _observerQueue = "";
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<object>> _outcomes = new();
    private readonly ConcurrentQueue<Fault<GeneratePortalLink>> _faults = new();
    private readonly ConcurrentQueue<(PortalLinkCampaignCompleted Event, Guid? MessageId)> _completions = new();
    private readonly SemaphoreSlim _arrived = new(0);

    public string Database { get; private set; } = "";
    public string RabbitMq { get; private set; } = "";
    public HttpClient Simulator { get; private set; } = null!;
    public IBus Bus => _observer!;
    public IReadOnlyCollection<Fault<GeneratePortalLink>> Faults => _faults;

    /// <summary>Every <see cref="PortalLinkCampaignCompleted"/> seen for a campaign, with its message id, in arrival order.</summary>
    public IReadOnlyList<(PortalLinkCampaignCompleted Event, Guid? MessageId)> CompletionsOf(Guid campaignId) =>
        _completions.Where(c => c.Event.CampaignId == campaignId).ToList();

    /// <summary>Waits until <paramref name="count"/> completions of the campaign have arrived.</summary>
    public async Task<IReadOnlyList<(PortalLinkCampaignCompleted Event, Guid? MessageId)>> WaitForCompletionsAsync(Guid campaignId,
        int count = 1, TimeSpan? patience = null)
    {
        await Eventually.TrueAsync(() => CompletionsOf(campaignId).Count >= count, patience ?? OutcomeWait);
        return CompletionsOf(campaignId);
    }

    public async Task InitializeAsync()
    {
        (_, RabbitMq) = await TestServices.ServersAsync();
        Database = await TestServices.CreateDatabaseAsync("portallink_test");

        _simulator = UpflowSimulatorApp.Build(["--urls", "http://127.0.0.1:0", $"--Simulator:ApiKey={ApiKey}", $"--Simulator:ApiSecret={ApiSecret}", "--Simulator:AdminEndpoints=true"]);
        await _simulator.StartAsync();
        var simulatorUrl = _simulator.Urls.First();
        Simulator = new HttpClient { BaseAddress = new Uri(simulatorUrl) };

        SimulatorUrl = simulatorUrl;
        // Campaign items a previous run left behind (a test stopped halfway) belong to another database; here they would
        // only take the simulator's budget and calls from the tests.
        await RawQueue.PurgeAsync(RabbitMq, PortalLinkWorker.Links.GeneratePortalLinkBulkConsumerDefinition.QueueName);
        _worker = BuildOwnWorker();

        // A durable queue of its own, not a temporary one: the fault tests restart the broker, and the events published
        // while it comes back must still reach the test.
        _observerQueue = $"portal-link-tests-{Guid.NewGuid():N}";
        _observer = MassTransit.Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            RabbitMqAddress.TryParse(RabbitMq)!.ApplyTo(rabbit);
            rabbit.ReceiveEndpoint(_observerQueue, endpoint =>
            {
                endpoint.Durable = true;
                endpoint.AutoDelete = false;
                endpoint.Handler<PortalLinkGenerated>(c => Record(c.Message.RequestId, c.Message));
                endpoint.Handler<PortalLinkFailed>(c => Record(c.Message.RequestId, c.Message));
                endpoint.Handler<PortalLinkCampaignCompleted>(c =>
                {
                    _completions.Enqueue((c.Message, c.MessageId));
                    return Task.CompletedTask;
                });
                endpoint.Handler<Fault<GeneratePortalLink>>(c =>
                {
                    _faults.Enqueue(c.Message);
                    return Task.CompletedTask;
                });
            });
        });
        await _observer.StartAsync();
        await _worker.StartAsync();
    }

    public string SimulatorUrl { get; private set; } = "";

    /// <summary>The worker's settings, as environment variables for a worker started as a child process.</summary>
    public IReadOnlyDictionary<string, string> WorkerSettings => new Dictionary<string, string>
    {
        ["ConnectionStrings:Postgres"] = Database,
        ["ConnectionStrings:RabbitMq"] = RabbitMq,
        ["Upflow:BaseUrl"] = $"{SimulatorUrl}/v1",
        ["Upflow:ApiKey"] = ApiKey,
        ["Upflow:ApiSecret"] = ApiSecret,
        ["Upflow:PortalHosts"] = SimulatorPortalHost,
        ["Upflow:MaxRequestsPerSecond"] = "0",
        ["Upflow:MaxRetryAttempts"] = MaxRetryAttempts.ToString(),
        ["Upflow:RetryBaseDelay"] = "00:00:00.050",
        ["Upflow:AttemptTimeout"] = "00:00:01",
        ["Upflow:TotalTimeout"] = "00:00:15",
        ["Upflow:MaxInMemoryWait"] = "00:00:02",
        ["Upflow:OutageProbeInterval"] = "00:00:00.500",
        ["Upflow:CredentialsProbeInterval"] = "00:00:00.500",
        // Any free port: never the default 8080, and several workers side by side.
        ["Urls"] = "http://127.0.0.1:0",
        ["Campaigns:CompletionSweepInterval"] = "00:00:01",
        ["Campaigns:CompletionSweepGrace"] = "00:00:00.500",
    };

    /// <summary>The in-process worker's HTTP endpoint (health, metrics, status page), once started.</summary>
    public Uri WorkerUrl => new(_worker?.Urls.FirstOrDefault() ?? throw new InvalidOperationException("The worker is not running."));

    private WebApplication BuildOwnWorker(IReadOnlyDictionary<string, string>? overrides = null) =>
        BuildWorker(overrides is null ? WorkerSettings : WorkerSettings.Concat(overrides)
            .GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Last().Value));

    /// <summary>A worker wired as in production (web endpoints included) with these settings; not started.</summary>
    public static WebApplication BuildWorker(IReadOnlyDictionary<string, string> settings) =>
        PortalLinkWorkerHost.BuildWorker([], builder =>
            builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))));

    /// <summary>Stops the in-process worker, for tests that run their own worker processes.</summary>
    public async Task StopWorkerAsync()
    {
        await _worker!.StopAsync();
        await _worker.DisposeAsync();
        _worker = null;
    }

    /// <summary>Starts the in-process worker again, with <paramref name="overrides"/> on top of <see cref="WorkerSettings"/>.</summary>
    public async Task StartWorkerAsync(IReadOnlyDictionary<string, string>? overrides = null)
    {
        _worker ??= BuildOwnWorker(overrides);
        await _worker.StartAsync();
    }

    private Task Record(Guid requestId, object outcome)
    {
        _outcomes.GetOrAdd(requestId, _ => new()).Enqueue(outcome);
        _arrived.Release();
        return Task.CompletedTask;
    }

    /// <summary>Every outcome event seen so far for a request.</summary>
    public IReadOnlyList<object> OutcomesOf(Guid requestId) =>
        _outcomes.TryGetValue(requestId, out var seen) ? seen.ToList() : [];

    /// <summary>Waits until <paramref name="count"/> outcome events for the request have arrived.</summary>
    public async Task<IReadOnlyList<object>> WaitForOutcomesAsync(Guid requestId, int count = 1)
    {
        using var limit = new CancellationTokenSource(OutcomeWait);
        while (OutcomesOf(requestId).Count < count)
        {
            try
            {
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(200), limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No {count} outcome(s) for request {requestId} within {OutcomeWait.TotalSeconds} s; saw {OutcomesOf(requestId).Count}.");
            }
        }
        return OutcomesOf(requestId);
    }

    /// <summary>Waits for each request's first outcome and asserts it is <see cref="PortalLinkGenerated"/>.</summary>
    public async Task ExpectGeneratedAsync(IEnumerable<GeneratePortalLink> requests)
    {
        foreach (var request in requests)
            Assert.IsType<PortalLinkGenerated>((await WaitForOutcomesAsync(request.RequestId))[0]);
    }

    public async Task<T> OutcomeAsync<T>(Guid requestId) => Assert.IsType<T>((await WaitForOutcomesAsync(requestId))[0]);

    public async Task<IReadOnlyList<CallRecord>> CallsAsync(string? customerId = null) =>
        (await Simulator.GetFromJsonAsync<List<CallRecord>>(
            customerId is null ? "/_simulator/calls" : $"/_simulator/calls?customerId={Uri.EscapeDataString(customerId)}"))!;

    public async Task ConfigureSimulatorAsync(object changes) =>
        (await Simulator.PutAsJsonAsync("/_simulator/config", changes)).EnsureSuccessStatusCode();

    /// <summary>The tests' own connections are not pooled: a pooled one would not survive the PostgreSQL restart test.</summary>
    private string TestConnection => Database + ";Pooling=false";

    /// <summary>The first column of the first row of a query, or null.</summary>
    public async Task<object?> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(TestConnection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        var result = await command.ExecuteScalarAsync();
        return result is DBNull ? null : result;
    }

    /// <summary>Settings for a command run in this process (<c>campaign …</c>): the worker's own, as arguments.</summary>
    public string[] CommandSettings => WorkerSettings.Select(s => $"--{s.Key}={s.Value}").ToArray();

    public async Task<Dictionary<string, object?>?> RowAsync(Guid requestId)
    {
        await using var connection = new NpgsqlConnection(TestConnection);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT * FROM portal_links WHERE request_id = @id", connection);
        select.Parameters.AddWithValue("id", requestId);
        await using var reader = await select.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
            return null;
        return Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i));
    }

    public async Task ExecuteSqlAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(TestConnection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.StopAsync();
            await _worker.DisposeAsync();
        }
        if (_observer is not null)
        {
            await _observer.StopAsync();
            await using var connection = await new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(RabbitMq) }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeleteAsync(_observerQueue, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(_observerQueue);
        }
        if (_simulator is not null)
            await _simulator.DisposeAsync();
        Simulator.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<WorkerFixture>
{
    public const string Name = "worker";
}
