using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PortalLinkContracts;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Links;
using PortalLinkWorker.Tests.Upflow;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Links;

/// <summary>The consumer with the worker's own wiring on MassTransit's in-memory test harness and a fake clock, for the
/// decision that needs neither the database nor Upflow: a request without a RequestId. (The database is configured at
/// a closed port: touching it would fail the test.)</summary>
[Trait("Category", "Unit")]
public sealed class GeneratePortalLinkConsumerHarnessTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Consume_NoRequestId_PublishesInvalidRequest_AtTheClocksTime_WithoutFault()
    {
        var time = new FakeTimeProvider(At);
        await using var provider = Services(time);
        var harness = provider.GetTestHarness();
        await harness.Start();
        var campaignId = Guid.NewGuid();

        await harness.Bus.Publish(new GeneratePortalLink(Guid.Empty, "external:ACME-42", null, null, campaignId));

        Assert.True(await harness.GetConsumerHarness<GeneratePortalLinkConsumer>().Consumed.Any<GeneratePortalLink>());
        var failed = Assert.Single(harness.Published.Select<PortalLinkFailed>()).Context.Message;
        Assert.Equal(new PortalLinkFailed(Guid.Empty, "external:ACME-42", PortalLinkFailureReason.InvalidRequest,
            "RequestId is missing or empty; it is the idempotency key and is required.", At, campaignId), failed);
        Assert.False(await harness.Published.Any<Fault<GeneratePortalLink>>());
        Assert.False(await harness.Published.Any<PortalLinkGenerated>());
        var counted = provider.GetRequiredService<LinkOutcomes>();
        Assert.Equal(1, counted.Count().Failed);
        Assert.Equal("external:ACME-42", Assert.Single(counted.RecentFailures()).CustomerId);
    }

    private static ServiceProvider Services(FakeTimeProvider time)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Database=unused;Username=u;Password=p;Timeout=1",
            ["ConnectionStrings:RabbitMq"] = "amqp://u:p@127.0.0.1:1/",
            ["Upflow:BaseUrl"] = "http://127.0.0.1:1/v1",
            ["Upflow:ApiKey"] = "key-0123456789abcdef",
            ["Upflow:ApiSecret"] = "secret-unused",
            ["Database:UrlKeys"] = PortalLinkWorker.TestKit.WorkerSettings.UrlKeys,
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IRateBudgetStore>(new InMemoryRateBudgetStore(time));
        services.AddSingleton(new InMemorySlotLocks().For());
        services.AddPortalLinkOptions();
        services.AddPortalLinkDatabase();
        services.AddUpflowClient();
        services.AddSingleton<LinkOutcomes>();
        services.AddSingleton<ConsumptionSwitch>();
        services.AddScoped<PortalLinkRequestHandler>();
        services.AddMassTransitTestHarness(bus => bus.AddConsumer<GeneratePortalLinkConsumer>());
        return services.BuildServiceProvider(validateScopes: true);
    }
}
