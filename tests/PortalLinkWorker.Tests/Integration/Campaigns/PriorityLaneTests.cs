using PortalLinkContracts;
using PortalLinkWorker.Links;
using PortalLinkWorker.TestKit;
using Xunit.Abstractions;

namespace PortalLinkWorker.Tests.Integration.Campaigns;

/// <summary>A live request while a campaign saturates the rate budget: it is served next, not behind the backlog.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class PriorityLaneTests(WorkerFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Backlog = 3000;
    private const int Rate = 25;

    public Task InitializeAsync() => fixture.Worker.StopAsync();

    public async Task DisposeAsync()
    {
        // The rest of the backlog is of no further use: it would only slow the next tests down.
        await fixture.Worker.StopAsync();
        await RawQueue.PurgeAsync(fixture.RabbitMq, GeneratePortalLinkBulkConsumerDefinition.QueueName);
        await fixture.Worker.StartAsync();
    }

    [Fact]
    public async Task LiveRequest_DuringASaturatingCampaign_ServedBeforeTheBacklog()
    {
        await fixture.Worker.StartAsync(new Dictionary<string, string> { ["Upflow:MaxRequestsPerSecond"] = Rate.ToString() });
        var start = new StartPortalLinkCampaign(Guid.NewGuid(), "backlog",
            Enumerable.Range(0, Backlog).Select(i => $"external:backlog-{i}-{Guid.NewGuid():N}").ToArray());
        await fixture.Observer.Bus.Publish(start);
        // The campaign is running at the full budget.
        await Eventually.TrueAsync(async () => Convert.ToInt32(await fixture.Database.ScalarAsync(
            "SELECT coalesce(generated_count, 0) FROM portal_link_campaigns WHERE campaign_id = @c", ("c", start.CampaignId))) >= 2 * Rate);

        var live = new GeneratePortalLink(Guid.NewGuid(), $"external:live-{Guid.NewGuid():N}");
        var sentAt = DateTimeOffset.UtcNow;
        await fixture.Observer.Bus.Publish(live);
        await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(live.RequestId);
        var pending = Convert.ToInt32(await fixture.Database.ScalarAsync(
            "SELECT pending_count FROM portal_link_campaigns WHERE campaign_id = @c", ("c", start.CampaignId)));

        var calls = await fixture.Simulator.CallsAsync();
        var liveCall = Assert.Single(calls, c => c.CustomerId == live.CustomerId);
        var campaignCallsInBetween = calls.Count(c => c.CustomerId.StartsWith("external:backlog-") && c.At > sentAt && c.At < liveCall.At);
        output.WriteLine($"{pending} campaign items still pending; {campaignCallsInBetween} campaign calls went out between the live request's publish and its call");
        // Behind the backlog, the live request would have come after thousands of campaign calls. Before it: at most the
        // calls the campaign already held a slot or a leased token for.
        Assert.True(pending > Backlog / 2, $"only {pending} campaign items were left");
        Assert.InRange(campaignCallsInBetween, 0, 10);
    }
}
