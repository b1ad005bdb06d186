using PortalLinkWorker.TestKit;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>
/// What the integration tests share, one concern each: the real RabbitMQ and PostgreSQL (<see cref="TestServices"/>, a
/// database of its own), the Upflow simulator over HTTP (<see cref="Simulator"/>), a running worker wired exactly as in
/// production (<see cref="Worker"/>), an observer bus that publishes requests and collects every outcome
/// (<see cref="Observer"/>), and direct reads of the database (<see cref="Database"/>).
/// </summary>
public sealed class WorkerFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    public const string ApiSecret = "test-secret-3f9c1a";
    public const int MaxRetryAttempts = 3;

    private SimulatorHost? _simulator;
    private InProcessWorker? _worker;
    private TestObserver? _observer;
    private TestDatabase? _database;

    public string RabbitMq { get; private set; } = "";
    public SimulatorClient Simulator => _simulator!.Client;
    public InProcessWorker Worker => _worker!;
    public TestObserver Observer => _observer!;
    public TestDatabase Database => _database!;

    public async Task InitializeAsync()
    {
        (_, RabbitMq) = await TestServices.ServersAsync();
        _database = new TestDatabase(await TestServices.CreateDatabaseAsync("portallink_test"));
        _simulator = await SimulatorHost.StartAsync(ApiKey, ApiSecret);
        // Campaign items a previous run left behind (a test stopped halfway) belong to another database; here they would
        // only take the simulator's budget and calls from the tests.
        await RawQueue.PurgeAsync(RabbitMq, PortalLinkWorker.Links.GeneratePortalLinkBulkConsumerDefinition.QueueName);
        _worker = new InProcessWorker(Settings(_database.ConnectionString, RabbitMq, _simulator.Url));
        _worker.Prepare();
        _observer = await TestObserver.StartAsync(RabbitMq);
        await _worker.StartAsync();
    }

    /// <summary>The tests' worker settings: short timeouts and probe intervals, so that a test of a pause or a retry
    /// takes seconds, not minutes.</summary>
    private static Dictionary<string, string> Settings(string database, string rabbitMq, string simulatorUrl) =>
        WorkerSettings.For(database, rabbitMq, simulatorUrl, ApiKey, ApiSecret, maxRequestsPerSecond: 0).With(new Dictionary<string, string>
        {
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
        });

    public async Task DisposeAsync()
    {
        if (_worker is not null)
            await _worker.DisposeAsync();
        if (_observer is not null)
            await _observer.DisposeAsync();
        if (_simulator is not null)
            await _simulator.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<WorkerFixture>
{
    public const string Name = "worker";
}
